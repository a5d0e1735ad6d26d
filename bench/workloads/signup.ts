// The cold-start-heavy workload: a sign-up form validator that bundles the whole `validator` package
// (≈ 130 KB of minified JS), imported the way most code does (`import validator from 'validator'`).
// A cold start pays for evaluating the library; the request itself is cheap.
import validator from 'validator';

interface Signup {
  email?: unknown;
  website?: unknown;
  phone?: unknown;
  postcode?: unknown;
  country?: unknown;
  password?: unknown;
  ip?: unknown;
  referrer?: unknown;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export default {
  async fetch(request: Request): Promise<Response> {
    let form: Signup;
    try {
      form = (await request.json()) as Signup;
    } catch {
      return Response.json({ ok: false, errors: ['body must be JSON'] }, { status: 400 });
    }
    const errors: string[] = [];
    const country = str(form.country).toUpperCase();
    if (!validator.isISO31661Alpha2(country)) errors.push('country must be an ISO 3166-1 alpha-2 code');
    if (!validator.isEmail(str(form.email))) errors.push('email is not an e-mail address');
    if (!validator.isURL(str(form.website), { require_protocol: true, protocols: ['https'] })) errors.push('website must be an https URL');
    if (!validator.isMobilePhone(str(form.phone), 'any')) errors.push('phone is not a mobile number');
    const postalLocale = validator.isPostalCodeLocales.includes(country) ? country : 'any';
    if (!validator.isPostalCode(str(form.postcode), postalLocale)) errors.push('postcode is not valid');
    if (!validator.isStrongPassword(str(form.password))) errors.push('password is too weak');
    if (!validator.isIP(str(form.ip))) errors.push('ip is not an IP address');
    if (form.referrer !== undefined && !validator.isUUID(str(form.referrer), 4)) errors.push('referrer must be a UUID v4');
    if (errors.length > 0) return Response.json({ ok: false, errors }, { status: 422 });
    return Response.json({
      ok: true,
      email: validator.normalizeEmail(str(form.email)),
      display: validator.escape(str(form.email)),
    });
  },
};
