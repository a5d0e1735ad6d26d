/**
 * The rest of the "Web platform, second wave": CustomEvent (chunk "abort"), navigator (chunk
 * "navigator"), URLPattern (chunk "urlpattern", the vendored urlpattern-polyfill), reportError (chunk "console"). Intl
 * itself (chunk "intl", on the host's ICU) is declared by TypeScript's ES lib; Event's constants and
 * legacy members are in web.d.ts.
 */

interface CustomEventInit<T = any> extends EventInit {
  detail?: T;
}
interface CustomEvent<T = any> extends Event {
  readonly detail: T;
  initCustomEvent(type: string, bubbles?: boolean, cancelable?: boolean, detail?: T): void;
}
declare var CustomEvent: {
  prototype: CustomEvent;
  new <T>(type: string, eventInitDict?: CustomEventInit<T>): CustomEvent<T>;
};

interface Navigator {
  readonly userAgent: string;
  readonly language: string;
  readonly languages: readonly string[];
  readonly hardwareConcurrency: number;
}
declare var navigator: Navigator;

declare function reportError(e: any): void;

type URLPatternInput = string | URLPatternInit;
type URLPatternComponent = 'protocol' | 'username' | 'password' | 'hostname' | 'port' | 'pathname' | 'search' | 'hash';
interface URLPatternInit {
  protocol?: string;
  username?: string;
  password?: string;
  hostname?: string;
  port?: string;
  pathname?: string;
  search?: string;
  hash?: string;
  baseURL?: string;
}
interface URLPatternOptions {
  ignoreCase?: boolean;
}
interface URLPatternComponentResult {
  input: string;
  groups: Record<string, string | undefined>;
}
interface URLPatternResult {
  inputs: URLPatternInput[];
  protocol: URLPatternComponentResult;
  username: URLPatternComponentResult;
  password: URLPatternComponentResult;
  hostname: URLPatternComponentResult;
  port: URLPatternComponentResult;
  pathname: URLPatternComponentResult;
  search: URLPatternComponentResult;
  hash: URLPatternComponentResult;
}
interface URLPattern {
  readonly protocol: string;
  readonly username: string;
  readonly password: string;
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
  readonly hash: string;
  readonly hasRegExpGroups: boolean;
  test(input?: URLPatternInput, baseURL?: string): boolean;
  exec(input?: URLPatternInput, baseURL?: string): URLPatternResult | null;
}
declare var URLPattern: {
  prototype: URLPattern;
  new (input?: URLPatternInput, baseURL?: string, options?: URLPatternOptions): URLPattern;
  new (input?: URLPatternInput, options?: URLPatternOptions): URLPattern;
  /** Orders two patterns by one component, most specific first (-1, 0 or 1): a proposal the polyfill ships. */
  compareComponent(component: URLPatternComponent, left: URLPattern, right: URLPattern): number;
};
