/**
 * Names for the emulator's log when it refuses a query: the fields and arguments the schema does not
 * have (e.g. "Project.sweep", "Project.runs(foo)"), and the root fields of a mutation. Names only: never
 * argument values or variables, which may hold anything a client sends.
 */
import { getNamedType, Kind, TypeInfo, visit, visitWithTypeInfo } from 'graphql';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';

const MAX_NAMES = 20;

/** Unknown fields as "Type.field" and unknown arguments as "Type.field(arg)", in document order. */
export function unknownFieldsAndArguments(schema: GraphQLSchema, document: DocumentNode): string[] {
  const names = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && !typeInfo.getFieldDef()) names.add(`${parent.name}.${node.name.value}`);
      },
      Argument(node) {
        const field = typeInfo.getFieldDef();
        const parent = typeInfo.getParentType();
        if (field && parent && !typeInfo.getArgument())
          names.add(`${getNamedType(parent).name}.${field.name}(${node.name.value})`);
      },
    }),
  );
  const list = [...names];
  return list.length > MAX_NAMES ? [...list.slice(0, MAX_NAMES), `… ${list.length - MAX_NAMES} more`] : list;
}

/** The document's mutation or subscription operations (the emulator answers only queries). */
export function writeOperations(document: DocumentNode): OperationDefinitionNode[] {
  return document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && d.operation !== 'query',
  );
}

/** "mutation UpsertBucket { upsertBucket }" style summary of write operations (names only). */
export function describeOperations(ops: readonly OperationDefinitionNode[]): string {
  return ops
    .map((op) => {
      const fields = op.selectionSet.selections
        .map((s) => (s.kind === Kind.FIELD ? s.name.value : '…'))
        .slice(0, MAX_NAMES)
        .join(', ');
      return `${op.operation}${op.name ? ` ${op.name.value}` : ''} { ${fields} }`;
    })
    .join('; ');
}
