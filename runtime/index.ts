export { Runtime, type RuntimeOptions, type InvokeOptions, type InvokeResult, type FunctionStats } from './runtime.ts';
export { FaasError, ERROR_STATUS, type ErrorCode, isFaasError } from './errors.ts';
export { parseFunctionConfig, assertFunctionName, FUNCTION_NAME, type FunctionConfig } from './config.ts';
export type { GuestRequest, GuestResponse } from './invocation.ts';
export type { GuestLogEntry, BoundOp } from './host/services.ts';
export { fetchOp, DEFAULT_FETCH_LIMITS } from './host/fetch.ts';
export type { EngineName, Isolation } from './engine/types.ts';
