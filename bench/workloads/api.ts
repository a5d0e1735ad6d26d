// The realistic workload: a small order API. Parses the URL (path and query), reads and validates a
// JSON body, prices the order, signs the receipt with HMAC-SHA-256 (crypto.subtle) and answers JSON.
interface Env {
  RECEIPT_SECRET: string;
}

interface Line {
  sku: string;
  qty: number;
  unitCents: number;
}

const SKU = /^[A-Z]{3}-\d{4}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const RATES: Record<string, number> = { EUR: 1, USD: 1.08, GBP: 0.85 };
const encoder = new TextEncoder();
let signingKey: Promise<CryptoKey> | undefined;

function problem(status: number, errors: string[]): Response {
  return Response.json({ ok: false, errors }, { status });
}

function validate(body: unknown): { email: string; lines: Line[] } | string[] {
  const errors: string[] = [];
  if (typeof body !== 'object' || body === null) return ['body must be a JSON object'];
  const { email, lines } = body as { email?: unknown; lines?: unknown };
  if (typeof email !== 'string' || !EMAIL.test(email)) errors.push('email must be an e-mail address');
  if (!Array.isArray(lines) || lines.length === 0 || lines.length > 50) {
    errors.push('lines must be an array of 1 to 50 items');
    return errors;
  }
  lines.forEach((l: Partial<Line>, i) => {
    if (typeof l !== 'object' || l === null) return void errors.push(`lines[${i}] must be an object`);
    if (typeof l.sku !== 'string' || !SKU.test(l.sku)) errors.push(`lines[${i}].sku must look like ABC-1234`);
    if (!Number.isInteger(l.qty) || l.qty! < 1 || l.qty! > 999) errors.push(`lines[${i}].qty must be an integer 1..999`);
    if (!Number.isInteger(l.unitCents) || l.unitCents! < 0) errors.push(`lines[${i}].unitCents must be a non-negative integer`);
  });
  return errors.length > 0 ? errors : { email: email as string, lines: lines as Line[] };
}

function hex(buf: ArrayBuffer): string {
  let out = '';
  for (const b of new Uint8Array(buf)) out += b.toString(16).padStart(2, '0');
  return out;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== 'POST' || !url.pathname.endsWith('/orders')) return problem(404, [`no route for ${request.method} ${url.pathname}`]);
    const currency = (url.searchParams.get('currency') ?? 'EUR').toUpperCase();
    const rate = RATES[currency];
    if (rate === undefined) return problem(400, [`unknown currency ${currency}`]);

    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return problem(400, ['body must be JSON']);
    }
    const order = validate(body);
    if (Array.isArray(order)) return problem(422, order);

    const subtotal = order.lines.reduce((sum, l) => sum + l.qty * l.unitCents, 0);
    const receipt = {
      email: order.email.toLowerCase(),
      currency,
      lines: order.lines.length,
      totalCents: Math.round(subtotal * rate),
      ref: url.searchParams.get('ref'),
    };
    signingKey ??= crypto.subtle.importKey('raw', encoder.encode(env.RECEIPT_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const payload = JSON.stringify(receipt);
    const signature = hex(await crypto.subtle.sign('HMAC', await signingKey, encoder.encode(payload)));
    return Response.json({ ok: true, receipt, signature }, { headers: { 'x-receipt-signature': signature } });
  },
};
