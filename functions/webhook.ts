// Verifies a webhook signature: HMAC-SHA256 of the raw body with a secret, hex in `x-signature`.

const encoder = new TextEncoder();

function hexToBytes(hex: string): Uint8Array | null {
  if (!/^([0-9a-f]{2})+$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export default {
  async fetch(request, env): Promise<Response> {
    if (request.method !== 'POST') return new Response('POST a payload with an x-signature header\n', { status: 405 });
    const signature = hexToBytes(request.headers.get('x-signature') ?? '');
    if (!signature) return Response.json({ ok: false, error: 'missing or malformed x-signature' }, { status: 401 });

    const body = await request.arrayBuffer();
    const key = await crypto.subtle.importKey('raw', encoder.encode(env.WEBHOOK_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    const valid = await crypto.subtle.verify('HMAC', key, signature, body);
    if (!valid) return Response.json({ ok: false, error: 'signature does not match' }, { status: 401 });

    const event = JSON.parse(new TextDecoder().decode(body)) as { type?: string };
    console.log('verified webhook event', event.type ?? '(untyped)');
    return Response.json({ ok: true, type: event.type ?? null, id: crypto.randomUUID() });
  },
} satisfies ExportedHandler<WebhookEnv>;
