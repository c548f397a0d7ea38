export { run, type RunOptions } from './run.js';
export { CliError, CLI_ERROR_CODES, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, type CliErrorCode } from './errors.js';
export { generateKey, GENERATED_ALGORITHMS, type GeneratedAlgorithm, type GeneratedKey } from './commands/keys.js';
export type { Output } from './output.js';
