/**
 * faas/types: the globals a faas function sees in its sandbox, and the shapes of its handlers and
 * bindings. Use it instead of the DOM lib, which declares many globals the sandbox does not have:
 *
 *   // tsconfig.json
 *   { "compilerOptions": { "lib": ["ESNext"], "types": ["faas/types"], … } }
 *
 * The ECMAScript built-ins come from TypeScript's ES lib; what the engine (QuickJS-NG) lacks of it is
 * listed in README "Guest globals". Every global declared in these files exists in the sandbox and
 * every Web global the sandbox provides is declared here: types/globals.test.ts checks both ways.
 */
/// <reference path="./web.d.ts" />
/// <reference path="./handlers.d.ts" />
/// <reference path="./streams.d.ts" />
/// <reference path="./blob.d.ts" />
/// <reference path="./crypto.d.ts" />
/// <reference path="./intl.d.ts" />
