/** Errors a resolver raises for bad arguments; they surface as GraphQL `errors` in a 200 answer, as on W&B. */
import { GraphQLError } from 'graphql';

export function badArgument(message: string): GraphQLError {
  return new GraphQLError(message);
}
