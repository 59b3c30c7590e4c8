/**
 * What the emulator answers to `serverInfo`: the SDK reads `cliVersionInfo.max_cli_version` (newer
 * client features are gated on it), `latestLocalVersionInfo` (wandb login's "server out of date" notice)
 * and `features` (wandb-core's featurechecker; unknown names are ignored by the client).
 */

/** The newest SDK release whose queries the emulator is tested with (test/dev/fixtures/wandb-sdk/). */
export const TESTED_SDK_VERSION = '0.28.2';

/** The version the emulator reports for itself: not a W&B server release, so clients never mistake it for one. */
export const EMULATOR_VERSION = '0.0.0-emulator';

export interface ServerInfoAnswer {
  cliVersionInfo: { max_cli_version: string };
  latestLocalVersionInfo: { outOfDate: boolean; latestVersionString: string; versionOnThisInstanceString: string };
  features: { name: string; isEnabled: boolean }[];
}

export function serverInfo(): ServerInfoAnswer {
  return {
    cliVersionInfo: { max_cli_version: TESTED_SDK_VERSION },
    latestLocalVersionInfo: {
      outOfDate: false,
      latestVersionString: EMULATOR_VERSION,
      versionOnThisInstanceString: EMULATOR_VERSION,
    },
    // Project.sweeps(filters) is implemented; SDK 0.28 strips the argument when this is off.
    features: [{ name: 'SWEEPS_QUERY_FILTERING', isEnabled: true }],
  };
}
