// The few `validator` functions the signup workload uses (the package ships no types; this avoids a
// second dev dependency on @types/validator).
declare module 'validator' {
  interface Validator {
    isEmail(s: string): boolean;
    isURL(s: string, options?: { require_protocol?: boolean; protocols?: string[] }): boolean;
    isMobilePhone(s: string, locale: string): boolean;
    isPostalCode(s: string, locale: string): boolean;
    isStrongPassword(s: string): boolean;
    isIP(s: string, version?: number): boolean;
    isUUID(s: string, version?: number): boolean;
    isISO31661Alpha2(s: string): boolean;
    isPostalCodeLocales: string[];
    normalizeEmail(s: string): string | false;
    escape(s: string): string;
  }
  const validator: Validator;
  export default validator;
}
