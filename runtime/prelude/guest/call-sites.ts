/** Call sites without the function objects (see stack-guard.ts). */

class CallSite {
  #site: any;

  constructor(site: any) {
    this.#site = site;
  }

  getFunction(): undefined {
    return undefined;
  }
  getThis(): undefined {
    return undefined;
  }
  getFunctionName(): string | null {
    return this.#site.getFunctionName();
  }
  getFileName(): string | null {
    return this.#site.getFileName();
  }
  getLineNumber(): number | null {
    return this.#site.getLineNumber();
  }
  getColumnNumber(): number | null {
    return this.#site.getColumnNumber();
  }
  isNative(): boolean {
    return this.#site.isNative();
  }
  isConstructor(): boolean {
    return this.#site.isConstructor();
  }
}

const wrappers = new WeakSet<Function>();

/** Plain loops and captured originals: user code may have replaced Array.prototype, and must not see the raw sites. */
export function wrap(user: Function): Function {
  if (callWith(WeakSetPrototypeHas, wrappers, user)) return user;
  const wrapper = function (this: unknown, error: unknown, sites: any[]) {
    const safe: CallSite[] = [];
    for (let i = 0; i < sites.length; i++) safe[i] = new CallSite(sites[i]);
    return callWith(user as (this: unknown, e: unknown, s: CallSite[]) => unknown, this, error, safe);
  };
  callWith(WeakSetPrototypeAdd, wrappers, wrapper);
  return wrapper;
}
