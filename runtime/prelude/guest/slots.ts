/**
 * The state-array slots of Request and Response after the body's (body.ts): shared by the core and
 * the chunks that read or build a state array (request-init.ts, fetch.ts) through the internals.
 */
export const METHOD = 6;
export const URL_ = 7;
export const REDIRECT = 8;
export const SIGNAL = 9;

export const STATUS = 6;
export const STATUS_TEXT = 7;
export const TYPE = 8;
export const RESPONSE_URL = 9;
export const REDIRECTED = 10;

export const nullBodyStatus = (status: number) => status === 204 || status === 205 || status === 304 || status === 101 || status === 103;
