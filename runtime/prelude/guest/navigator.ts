import { dataDescriptor } from './safe.ts';
import { named } from './util.ts';

/** The version of faas that built this prelude (runtime/prelude/build.ts defines it). */
declare const __FAAS_VERSION__: string;

/**
 * Frameworks tell runtimes apart by the user agent: Hono's getRuntimeKey() takes one that starts
 * with "Cloudflare-Workers" for workerd, whose conventions (bindings on `env`, no `process`) are
 * faas's too; the faas token after it says which runtime this really is.
 */
const USER_AGENT = 'Cloudflare-Workers (faas/' + __FAAS_VERSION__ + ')';
const LANGUAGES = ObjectFreeze(['en-US']);
const ILLEGAL = {};

export class Navigator {
  constructor(key?: unknown) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
  }
  get userAgent(): string {
    return USER_AGENT;
  }
  /** The default locale of Intl here. */
  get language(): string {
    return 'en-US';
  }
  get languages(): readonly string[] {
    return LANGUAGES;
  }
  /** One thread runs a function's code. */
  get hardwareConcurrency(): number {
    return 1;
  }
}

named(Navigator, 'Navigator');
ObjectDefineProperty(Navigator, 'prototype', dataDescriptor(Navigator.prototype, false, false, false));

export const navigator = new Navigator(ILLEGAL);
