/**
 * crypto.subtle in the sandbox, from the WebCrypto spec, checked against node:crypto on the host:
 * what the guest signs, encrypts, derives or exports, the host verifies, decrypts, derives or imports
 * with node:crypto's own APIs, and the other way round. Runs on every engine (vitest.config.ts).
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  pbkdf2Sync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact } from '../../contract/artifact.ts';
import { parseFunctionConfig } from '../../contract/config.ts';
import { REPO_ROOT } from '../../test/helpers/gateway.ts';
import { deploySource, invoke, invokeSource, sharedRuntime, signingKey } from '../../test/helpers/sandbox.ts';

/** Helpers every guest below gets: bytes ⇄ hex / base64url, and the error of a promise. */
const COMMON = `
const s = crypto.subtle;
const enc = new TextEncoder();
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
const b64u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const unb64u = (t) => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const err = (p) => Promise.resolve().then(p).then(() => 'resolved', (e) => [e?.name, e instanceof DOMException]);
`;

async function guest(body: string, input: unknown = null, config: object = {}) {
  const r = await invokeSource(
    `${COMMON}\nexport default { async fetch(request) { const input = await request.json(); ${body} } }`,
    { method: 'POST', body: JSON.stringify(input) },
    { cpuMs: 10_000, memoryMb: 8, ...config },
  );
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

const b64u = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64url');
const unb64u = (t: string) => Buffer.from(t, 'base64url');
const jwk = (k: KeyObject) => k.export({ format: 'jwk' });
const spki = (k: KeyObject) => b64u(k.export({ type: 'spki', format: 'der' }));

const MSG = 'the quick brown fox';
const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p1363 = (k: KeyObject) => ({ key: k, dsaEncoding: 'ieee-p1363' as const });
const pss = (k: KeyObject) => ({ key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });

/** Each case: how the guest names it, and how node:crypto signs and verifies the same thing. */
const SIGNATURES = [
  { name: 'ECDSA P-256', keys: ec256, importAlg: { name: 'ECDSA', namedCurve: 'P-256' }, signAlg: { name: 'ECDSA', hash: 'SHA-256' }, hash: 'sha256', opts: p1363 },
  { name: 'ECDSA P-384', keys: ec384, importAlg: { name: 'ECDSA', namedCurve: 'P-384' }, signAlg: { name: 'ECDSA', hash: { name: 'SHA-384' } }, hash: 'sha384', opts: p1363 },
  { name: 'Ed25519', keys: ed, importAlg: 'Ed25519', signAlg: 'Ed25519', hash: null, opts: (k: KeyObject) => k },
  { name: 'RSASSA-PKCS1-v1_5', keys: rsa, importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, signAlg: 'RSASSA-PKCS1-v1_5', hash: 'sha256', opts: (k: KeyObject) => k },
  { name: 'RSA-PSS', keys: rsa, importAlg: { name: 'RSA-PSS', hash: 'SHA-256' }, signAlg: { name: 'RSA-PSS', saltLength: 32 }, hash: 'sha256', opts: pss },
];

describe('sign and verify', () => {
  test('every signature algorithm: the host verifies what the guest signed, the guest what the host signed', async () => {
    const cases = SIGNATURES.map((c) => ({
      name: c.name,
      importAlg: c.importAlg,
      signAlg: c.signAlg,
      privJwk: jwk(c.keys.privateKey),
      pubSpki: spki(c.keys.publicKey),
      hostSig: b64u(nodeSign(c.hash, Buffer.from(MSG), c.opts(c.keys.privateKey) as never)),
    }));
    const out = await guest(
      `const msg = enc.encode(input.msg); const r = {};
      for (const c of input.cases) {
        const priv = await s.importKey('jwk', c.privJwk, c.importAlg, false, ['sign']);
        const pub = await s.importKey('spki', unb64u(c.pubSpki), c.importAlg, true, ['verify']);
        const sig = await s.sign(c.signAlg, priv, msg);
        r[c.name] = { sig: b64u(sig), host: await s.verify(c.signAlg, pub, unb64u(c.hostSig), msg), self: await s.verify(c.signAlg, pub, sig, msg),
          tampered: await s.verify(c.signAlg, pub, sig, enc.encode('another message')), types: [priv.type, pub.type, priv.extractable, pub.extractable] };
      }
      return Response.json(r);`,
      { msg: MSG, cases },
    );
    for (const c of SIGNATURES) {
      const r = out[c.name];
      expect(r, c.name).toMatchObject({ host: true, self: true, tampered: false, types: ['private', 'public', false, true] });
      expect(nodeVerify(c.hash, Buffer.from(MSG), c.opts(c.keys.publicKey) as never, unb64u(r.sig)), c.name).toBe(true);
    }
  });

  test('keys generated in the guest sign what node:crypto verifies with the exported public key', async () => {
    const out = await guest(
      `const msg = enc.encode(input.msg); const r = {};
      const gens = [['ECDSA P-256', { name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
        ['ECDSA P-384', { name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-384' }],
        ['Ed25519', { name: 'Ed25519' }, 'Ed25519'],
        ['RSA-PSS', { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, { name: 'RSA-PSS', saltLength: 32 }]];
      for (const [name, genAlg, signAlg] of gens) {
        const k = await s.generateKey(genAlg, false, ['sign', 'verify']);
        r[name] = { sig: b64u(await s.sign(signAlg, k.privateKey, msg)), spki: b64u(await s.exportKey('spki', k.publicKey)), jwk: await s.exportKey('jwk', k.publicKey),
          usages: [k.publicKey.usages, k.privateKey.usages], algorithm: k.privateKey.algorithm, privateExport: await err(() => s.exportKey('pkcs8', k.privateKey)) };
      }
      return Response.json(r);`,
      { msg: MSG },
    );
    const checks: [string, string | null, (k: KeyObject) => unknown][] = [
      ['ECDSA P-256', 'sha256', p1363],
      ['ECDSA P-384', 'sha384', p1363],
      ['Ed25519', null, (k) => k],
      ['RSA-PSS', 'sha256', pss],
    ];
    for (const [name, hash, opts] of checks) {
      const r = out[name];
      const fromSpki = createPublicKey({ key: unb64u(r.spki), format: 'der', type: 'spki' });
      const fromJwk = createPublicKey({ key: r.jwk, format: 'jwk' });
      expect(nodeVerify(hash, Buffer.from(MSG), opts(fromSpki) as never, unb64u(r.sig)), name).toBe(true);
      expect(nodeVerify(hash, Buffer.from(MSG), opts(fromJwk) as never, unb64u(r.sig)), name).toBe(true);
      expect(r.usages).toEqual([['verify'], ['sign']]);
      expect(r.privateExport).toEqual(['InvalidAccessError', true]);
    }
    expect(out['ECDSA P-384'].algorithm).toEqual({ name: 'ECDSA', namedCurve: 'P-384' });
    expect(out['RSA-PSS'].algorithm).toEqual({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: { 0: 1, 1: 0, 2: 1 }, hash: { name: 'SHA-256' } });
  });

  test('HMAC with every hash, generated and imported keys, agrees with node:crypto', async () => {
    const out = await guest(
      `const r = {};
      for (const hash of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
        const k = await s.importKey('raw', enc.encode('secret'), { name: 'HMAC', hash }, false, ['sign', 'verify']);
        r[hash] = hex(await s.sign('HMAC', k, enc.encode(input.msg)));
      }
      const g = await s.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
      r.generated = [hex(await s.exportKey('raw', g)), hex(await s.sign('HMAC', g, enc.encode(input.msg))), g.algorithm];
      const d = await s.generateKey({ name: 'HMAC', hash: 'SHA-512' }, true, ['sign']);
      r.defaultLength = d.algorithm.length;
      return Response.json(r);`,
      { msg: MSG },
    );
    for (const [alg, node] of [['SHA-1', 'sha1'], ['SHA-256', 'sha256'], ['SHA-384', 'sha384'], ['SHA-512', 'sha512']]) {
      expect(out[alg!]).toBe(createHmac(node!, 'secret').update(MSG).digest('hex'));
    }
    const [key, sig, algorithm] = out.generated;
    expect(sig).toBe(createHmac('sha256', Buffer.from(key, 'hex')).update(MSG).digest('hex'));
    expect(algorithm).toEqual({ name: 'HMAC', length: 256, hash: { name: 'SHA-256' } });
    expect(out.defaultLength).toBe(1024);
  });
});

describe('JWT', () => {
  test('ES256 and EdDSA tokens signed in the guest verify on the host with node:crypto, and the other way round', async () => {
    const hostHeader = b64u(Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })));
    const hostPayload = b64u(Buffer.from(JSON.stringify({ sub: 'host' })));
    const hostSig = nodeSign('sha256', Buffer.from(`${hostHeader}.${hostPayload}`), p1363(ec256.privateKey));
    const out = await guest(
      `const jwt = async (alg, genAlg, signAlg) => {
        const k = await s.generateKey(genAlg, true, ['sign', 'verify']);
        const head = b64u(enc.encode(JSON.stringify({ alg, typ: 'JWT' }))) + '.' + b64u(enc.encode(JSON.stringify({ sub: 'guest', iat: 1700000000 })));
        return { token: head + '.' + b64u(await s.sign(signAlg, k.privateKey, enc.encode(head))), jwk: await s.exportKey('jwk', k.publicKey) };
      };
      const [h, p, sig] = input.hostToken.split('.');
      const pub = await s.importKey('jwk', input.hostJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      return Response.json({
        es256: await jwt('ES256', { name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }),
        eddsa: await jwt('EdDSA', { name: 'Ed25519' }, { name: 'Ed25519' }),
        hostTokenValid: await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, unb64u(sig), enc.encode(h + '.' + p)),
        hostTokenForged: await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, unb64u(sig), enc.encode(h + '.' + b64u(enc.encode('{"sub":"admin"}')))),
      });`,
      { hostToken: `${hostHeader}.${hostPayload}.${b64u(hostSig)}`, hostJwk: jwk(ec256.publicKey) },
    );
    const check = (token: string, key: object, hash: string | null, opts: (k: KeyObject) => unknown) => {
      const [h, p, sig] = token.split('.') as [string, string, string];
      const pub = createPublicKey({ key: key as never, format: 'jwk' });
      return nodeVerify(hash, Buffer.from(`${h}.${p}`), opts(pub) as never, unb64u(sig));
    };
    expect(check(out.es256.token, out.es256.jwk, 'sha256', p1363)).toBe(true);
    expect(check(out.eddsa.token, out.eddsa.jwk, null, (k) => k)).toBe(true);
    expect(JSON.parse(unb64u(out.es256.token.split('.')[0]).toString())).toEqual({ alg: 'ES256', typ: 'JWT' });
    expect(out.eddsa.jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(out.hostTokenValid).toBe(true);
    expect(out.hostTokenForged).toBe(false);
  });
});

describe('import and export', () => {
  test('JWKs made by node:crypto import into the guest and export back unchanged; pkcs8/spki/raw agree with the host', async () => {
    const oct = { kty: 'oct', k: b64u(randomBytes(32)) };
    const input = {
      cases: [
        ['EC P-384', jwk(ec384.privateKey), { name: 'ECDSA', namedCurve: 'P-384' }, ['sign']],
        ['RSA', jwk(rsa.privateKey), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, ['sign']],
        ['OKP', jwk(ed.privateKey), 'Ed25519', ['sign']],
        ['oct', oct, 'AES-GCM', ['encrypt', 'decrypt']],
      ],
    };
    const out = await guest(
      `const r = {};
      for (const [name, key, alg, usages] of input.cases) {
        const k = await s.importKey('jwk', key, alg, true, usages);
        r[name] = { jwk: await s.exportKey('jwk', k), pkcs8: k.type === 'private' ? b64u(await s.exportKey('pkcs8', k)) : null, raw: k.type === 'secret' ? b64u(await s.exportKey('raw', k)) : null };
      }
      const ec = await s.importKey('spki', unb64u(input.spki), { name: 'ECDH', namedCurve: 'P-256' }, true, []);
      r.rawPoint = hex(await s.exportKey('raw', ec));
      const back = await s.importKey('raw', await s.exportKey('raw', ec), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
      r.spki = b64u(await s.exportKey('spki', back));
      return Response.json(r);`,
      { ...input, spki: spki(ec256.publicKey) },
    );
    for (const [name, key] of input.cases as [string, Record<string, string>][]) {
      const r = out[name];
      for (const [k, v] of Object.entries(key)) expect(r.jwk[k], `${name}.${k}`).toEqual(v);
      expect(r.jwk.ext).toBe(true);
      if (r.pkcs8) {
        const host = createPrivateKey({ key: unb64u(r.pkcs8), format: 'der', type: 'pkcs8' });
        expect(host.export({ format: 'jwk' })).toEqual(key);
      }
    }
    expect(out.oct.raw).toBe(oct.k);
    const point = ec256.publicKey.export({ format: 'jwk' });
    expect(out.rawPoint).toBe(`04${unb64u(point.x!).toString('hex')}${unb64u(point.y!).toString('hex')}`);
    expect(out.spki).toBe(spki(ec256.publicKey));
  });
});

describe('encrypt and decrypt', () => {
  test('AES-GCM, AES-CBC, AES-CTR and RSA-OAEP: guest ⇄ node:crypto in both directions', async () => {
    const aesKey = randomBytes(32);
    const iv12 = randomBytes(12);
    const iv16 = randomBytes(16);
    const aad = Buffer.from('header');
    const plain = Buffer.from('attack at dawn, '.repeat(5));
    const sealer = createCipheriv('aes-256-gcm', aesKey, iv12).setAAD(aad);
    const hostGcm = Buffer.concat([sealer.update(plain), sealer.final(), sealer.getAuthTag()]);
    const cbc = createCipheriv('aes-256-cbc', aesKey, iv16);
    const hostCbc = Buffer.concat([cbc.update(plain), cbc.final()]);
    const label = Buffer.from('label');
    const hostOaep = publicEncrypt({ key: rsa.publicKey, oaepHash: 'sha256', oaepLabel: label }, plain);
    const out = await guest(
      `const [key, iv12, iv16, aad, plain] = [input.key, input.iv12, input.iv16, input.aad, input.plain].map(unb64u);
      const k = (name) => s.importKey('raw', key, name, false, ['encrypt', 'decrypt']);
      const gcm = { name: 'AES-GCM', iv: iv12, additionalData: aad, tagLength: 128 };
      const cbc = { name: 'AES-CBC', iv: iv16 };
      const ctr = { name: 'AES-CTR', counter: iv16, length: 64 };
      const rsaPub = await s.importKey('spki', unb64u(input.rsaSpki), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt']);
      const rsaPriv = await s.importKey('jwk', input.rsaJwk, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']);
      const oaep = { name: 'RSA-OAEP', label: unb64u(input.label) };
      const tampered = unb64u(input.hostGcm); tampered[0] ^= 1;
      return Response.json({
        gcm: b64u(await s.encrypt(gcm, await k('AES-GCM'), plain)),
        gcmFromHost: new TextDecoder().decode(await s.decrypt(gcm, await k('AES-GCM'), unb64u(input.hostGcm))),
        gcmTampered: await err(async () => s.decrypt(gcm, await k('AES-GCM'), tampered)),
        cbc: b64u(await s.encrypt(cbc, await k('AES-CBC'), plain)),
        cbcFromHost: new TextDecoder().decode(await s.decrypt(cbc, await k('AES-CBC'), unb64u(input.hostCbc))),
        ctr: b64u(await s.encrypt(ctr, await k('AES-CTR'), plain)),
        oaep: b64u(await s.encrypt(oaep, rsaPub, plain)),
        oaepFromHost: new TextDecoder().decode(await s.decrypt(oaep, rsaPriv, unb64u(input.hostOaep))),
      });`,
      {
        key: b64u(aesKey), iv12: b64u(iv12), iv16: b64u(iv16), aad: b64u(aad), plain: b64u(plain), label: b64u(label),
        hostGcm: b64u(hostGcm), hostCbc: b64u(hostCbc), hostOaep: b64u(hostOaep), rsaSpki: spki(rsa.publicKey), rsaJwk: jwk(rsa.privateKey),
      },
    );
    const gcm = unb64u(out.gcm);
    const decipher = createDecipheriv('aes-256-gcm', aesKey, iv12).setAAD(aad).setAuthTag(gcm.subarray(-16));
    expect(Buffer.concat([decipher.update(gcm.subarray(0, -16)), decipher.final()])).toEqual(plain);
    const cbcOut = createDecipheriv('aes-256-cbc', aesKey, iv16);
    expect(Buffer.concat([cbcOut.update(unb64u(out.cbc)), cbcOut.final()])).toEqual(plain);
    // the counter's low 64 bits do not wrap within 80 bytes, so plain CTR mode agrees
    const ctr = createDecipheriv('aes-256-ctr', aesKey, iv16);
    expect(Buffer.concat([ctr.update(unb64u(out.ctr)), ctr.final()])).toEqual(plain);
    expect(privateDecrypt({ key: rsa.privateKey, oaepHash: 'sha256', oaepLabel: label }, unb64u(out.oaep))).toEqual(plain);
    expect(out.gcmFromHost).toBe(plain.toString());
    expect(out.cbcFromHost).toBe(plain.toString());
    expect(out.oaepFromHost).toBe(plain.toString());
    expect(out.gcmTampered).toEqual(['OperationError', true]);
  });
});

describe('derive', () => {
  test('ECDH (P-256, P-384) and X25519: the guest and node:crypto derive the same secret', async () => {
    const hostKeys = {
      'P-256': generateKeyPairSync('ec', { namedCurve: 'P-256' }),
      'P-384': generateKeyPairSync('ec', { namedCurve: 'P-384' }),
      X25519: generateKeyPairSync('x25519'),
    };
    const out = await guest(
      `const r = {};
      for (const [curve, hostSpki] of Object.entries(input)) {
        const alg = curve === 'X25519' ? { name: 'X25519' } : { name: 'ECDH', namedCurve: curve };
        const mine = await s.generateKey(alg, false, ['deriveBits', 'deriveKey']);
        const theirs = await s.importKey('spki', unb64u(hostSpki), alg, false, []);
        const bits = curve === 'P-384' ? 384 : 256;
        r[curve] = { spki: b64u(await s.exportKey('spki', mine.publicKey)), secret: hex(await s.deriveBits({ name: alg.name, public: theirs }, mine.privateKey, bits)) };
      }
      return Response.json(r);`,
      Object.fromEntries(Object.entries(hostKeys).map(([c, k]) => [c, spki(k.publicKey)])),
    );
    for (const [curve, keys] of Object.entries(hostKeys)) {
      const guestPublic = createPublicKey({ key: unb64u(out[curve].spki), format: 'der', type: 'spki' });
      const secret = diffieHellman({ privateKey: keys.privateKey, publicKey: guestPublic });
      expect(out[curve].secret, curve).toBe(secret.toString('hex'));
    }
  });

  test('HKDF (RFC 5869) and PBKDF2 (RFC 6070) vectors; deriveKey gives keys node:crypto agrees with', async () => {
    const out = await guest(
      `const ikm = await s.importKey('raw', new Uint8Array(22).fill(0x0b), 'HKDF', false, ['deriveBits', 'deriveKey']);
      const hkdf = { name: 'HKDF', hash: 'SHA-256', salt: unhex('000102030405060708090a0b0c'), info: unhex('f0f1f2f3f4f5f6f7f8f9') };
      const pw = await s.importKey('raw', enc.encode('password'), { name: 'PBKDF2' }, false, ['deriveBits', 'deriveKey']);
      const pbkdf2 = (iterations, hash = 'SHA-1') => ({ name: 'PBKDF2', hash, salt: enc.encode('salt'), iterations });
      const aes = await s.deriveKey(pbkdf2(100000, 'SHA-256'), pw, { name: 'AES-GCM', length: 256 }, true, ['encrypt']);
      const iv = new Uint8Array(12);
      const hmac = await s.deriveKey(hkdf, ikm, { name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
      return Response.json({
        hkdf: hex(await s.deriveBits(hkdf, ikm, 42 * 8)),
        p1: hex(await s.deriveBits(pbkdf2(1), pw, 160)), p2: hex(await s.deriveBits(pbkdf2(2), pw, 160)), p4096: hex(await s.deriveBits(pbkdf2(4096), pw, 160)),
        aesKey: hex(await s.exportKey('raw', aes)), aesAlg: aes.algorithm, sealed: hex(await s.encrypt({ name: 'AES-GCM', iv }, aes, enc.encode('x'))),
        hmacKey: hex(await s.exportKey('raw', hmac)),
        hkdfExport: await err(() => s.exportKey('raw', ikm)),
      });`,
    );
    expect(out.hkdf).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    expect(out.p1).toBe('0c60c80f961f0e71f3a9b524af6012062fe037a6');
    expect(out.p2).toBe('ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957');
    expect(out.p4096).toBe('4b007901b765489abead49d926f721d065a429c1');
    const aesKey = pbkdf2Sync('password', 'salt', 100000, 32, 'sha256');
    expect(out.aesKey).toBe(aesKey.toString('hex'));
    expect(out.aesAlg).toEqual({ name: 'AES-GCM', length: 256 });
    const gcm = createCipheriv('aes-256-gcm', aesKey, Buffer.alloc(12));
    expect(out.sealed).toBe(Buffer.concat([gcm.update('x'), gcm.final(), gcm.getAuthTag()]).toString('hex'));
    const hk = hkdfSync('sha256', Buffer.alloc(22, 0x0b), Buffer.from('000102030405060708090a0b0c', 'hex'), Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'), 32);
    expect(out.hmacKey).toBe(Buffer.from(hk).toString('hex'));
    expect(out.hkdfExport).toEqual(['InvalidAccessError', true]);
  });
});

describe('wrapKey and unwrapKey', () => {
  test('AES-KW matches RFC 3394; a private key wrapped as JWK with AES-GCM unwraps and still signs', async () => {
    const out = await guest(
      `const kek = await s.importKey('raw', unhex('000102030405060708090a0b0c0d0e0f'), 'AES-KW', false, ['wrapKey', 'unwrapKey']);
      const key = await s.importKey('raw', unhex('00112233445566778899aabbccddeeff'), 'AES-CBC', true, ['encrypt']);
      const wrapped = await s.wrapKey('raw', key, kek, 'AES-KW');
      const back = await s.unwrapKey('raw', wrapped, kek, 'AES-KW', 'AES-CBC', true, ['decrypt']);
      const gcmKey = await s.generateKey({ name: 'AES-GCM', length: 128 }, false, ['wrapKey', 'unwrapKey']);
      const pair = await s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await s.wrapKey('jwk', pair.privateKey, gcmKey, { name: 'AES-GCM', iv });
      const priv = await s.unwrapKey('jwk', sealed, gcmKey, { name: 'AES-GCM', iv }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
      const sig = await s.sign({ name: 'ECDSA', hash: 'SHA-256' }, priv, enc.encode('m'));
      return Response.json({
        wrapped: hex(wrapped), back: hex(await s.exportKey('raw', back)), backAlg: back.algorithm, backUsages: back.usages,
        unwrappedSigns: await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, pair.publicKey, sig, enc.encode('m')), unwrappedExtractable: priv.extractable,
        nonExtractable: await err(() => s.wrapKey('raw', gcmKey, kek, 'AES-KW')),
      });`,
    );
    expect(out).toEqual({
      wrapped: '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5',
      back: '00112233445566778899aabbccddeeff',
      backAlg: { name: 'AES-CBC', length: 128 },
      backUsages: ['decrypt'],
      unwrappedSigns: true,
      unwrappedExtractable: false,
      nonExtractable: ['InvalidAccessError', true],
    });
  });
});

describe('errors, as the spec names them', () => {
  test('bad usages, wrong parameters, wrong key types, non-extractable keys, unsupported curves and algorithms', async () => {
    const out = await guest(`
      const aes = await s.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt']);
      const ec = await s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
      const ecdh = await s.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
      const ecdh384 = await s.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, false, ['deriveBits']);
      const hmac = await s.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      const pw = await s.importKey('raw', enc.encode('pw'), 'PBKDF2', false, ['deriveBits']);
      const data = new Uint8Array(8);
      const iv = new Uint8Array(12);
      return Response.json({
        // key usages (SyntaxError) and operations the key's usages do not allow (InvalidAccessError)
        usageForAlg: await err(() => s.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['sign'])),
        emptyUsages: await err(() => s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [])),
        notAUsage: await err(() => s.generateKey({ name: 'AES-GCM', length: 128 }, false, ['fly'])),
        usagesNotList: await err(() => s.generateKey({ name: 'AES-GCM', length: 128 }, false, 'encrypt')),
        decryptWithEncryptOnly: await err(() => s.decrypt({ name: 'AES-GCM', iv }, aes, data)),
        // algorithm parameters
        noIv: await err(() => s.encrypt({ name: 'AES-GCM' }, aes, data)),
        ivNotBytes: await err(() => s.encrypt({ name: 'AES-GCM', iv: 'abc' }, aes, data)),
        badTagLength: await err(() => s.encrypt({ name: 'AES-GCM', iv, tagLength: 100 }, aes, data)),
        aesLength: await err(() => s.generateKey({ name: 'AES-GCM', length: 100 }, false, ['encrypt'])),
        noName: await err(() => s.encrypt({ iv }, aes, data)),
        noHash: await err(() => s.sign({ name: 'ECDSA' }, ec.privateKey, data)),
        pssNoSalt: await err(async () => s.sign({ name: 'RSA-PSS' }, (await s.generateKey({ name: 'RSA-PSS', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign'])).privateKey, data)),
        zeroIterations: await err(() => s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: data, iterations: 0 }, pw, 256)),
        nanIterations: await err(() => s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: data, iterations: NaN }, pw, 256)),
        oddLength: await err(() => s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: data, iterations: 1 }, pw, 7)),
        // the wrong key for the operation
        algMismatch: await err(() => s.sign({ name: 'HMAC' }, ec.privateKey, data)),
        verifyWithPrivate: await err(() => s.verify({ name: 'ECDSA', hash: 'SHA-256' }, ec.privateKey, new Uint8Array(64), data)),
        encryptWithHmac: await err(() => s.encrypt({ name: 'AES-GCM', iv }, hmac, data)),
        curveMismatch: await err(() => s.deriveBits({ name: 'ECDH', public: ecdh384.publicKey }, ecdh.privateKey, 256)),
        publicAsBase: await err(() => s.deriveBits({ name: 'ECDH', public: ecdh.publicKey }, ecdh.publicKey, 256)),
        publicNotKey: await err(() => s.deriveBits({ name: 'ECDH', public: {} }, ecdh.privateKey, 256)),
        notAKey: await err(() => s.sign('HMAC', { type: 'secret' }, data)),
        forgedKey: await err(() => s.sign('HMAC', Object.create(CryptoKey.prototype), data)),
        // export
        nonExtractable: await err(() => s.exportKey('raw', aes)),
        rawPrivate: await err(() => s.exportKey('raw', ec.privateKey)),
        badFormat: await err(() => s.exportKey('pem', ec.publicKey)),
        // curves and algorithms
        secp256k1: await err(() => s.generateKey({ name: 'ECDSA', namedCurve: 'secp256k1' }, false, ['sign'])),
        importCurve: await err(() => s.importKey('raw', new Uint8Array(65), { name: 'ECDH', namedCurve: 'P-192' }, false, [])),
        ed448: await err(() => s.generateKey('Ed448', false, ['sign'])),
        rot13: await err(() => s.encrypt('ROT13', aes, data)),
        md5: await err(() => s.digest('MD5', data)),
        // key data
        shortAes: await err(() => s.importKey('raw', new Uint8Array(15), 'AES-GCM', false, ['encrypt'])),
        badSpki: await err(() => s.importKey('spki', new Uint8Array(10), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])),
        jwkKty: await err(() => s.importKey('jwk', { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, 'AES-GCM', false, ['encrypt'])),
        jwkBytes: await err(() => s.importKey('jwk', new Uint8Array(16), 'AES-GCM', false, ['encrypt'])),
        rawObject: await err(() => s.importKey('raw', { k: 1 }, 'AES-GCM', false, ['encrypt'])),
        // Web IDL
        missingArgs: await err(() => s.encrypt({ name: 'AES-GCM', iv }, aes)),
        dataNotBytes: await err(() => s.encrypt({ name: 'AES-GCM', iv }, aes, 'text')),
        symbolName: await err(() => s.encrypt(Symbol('x'), aes, data)),
        illegal: await err(() => new CryptoKey()),
      });`);
    const dom = (name: string) => [name, true];
    const type = ['TypeError', false];
    expect(out).toEqual({
      usageForAlg: dom('SyntaxError'),
      emptyUsages: dom('SyntaxError'),
      notAUsage: type,
      usagesNotList: type,
      decryptWithEncryptOnly: dom('InvalidAccessError'),
      noIv: type,
      ivNotBytes: type,
      badTagLength: dom('OperationError'),
      aesLength: dom('OperationError'),
      noName: type,
      noHash: type,
      pssNoSalt: type,
      zeroIterations: dom('OperationError'),
      nanIterations: type,
      oddLength: dom('OperationError'),
      algMismatch: dom('InvalidAccessError'),
      verifyWithPrivate: dom('InvalidAccessError'),
      encryptWithHmac: dom('InvalidAccessError'),
      curveMismatch: dom('InvalidAccessError'),
      publicAsBase: dom('InvalidAccessError'),
      publicNotKey: type,
      notAKey: type,
      forgedKey: type,
      nonExtractable: dom('InvalidAccessError'),
      rawPrivate: dom('InvalidAccessError'),
      badFormat: type,
      secp256k1: dom('NotSupportedError'),
      importCurve: dom('NotSupportedError'),
      ed448: dom('NotSupportedError'),
      rot13: dom('NotSupportedError'),
      md5: dom('NotSupportedError'),
      shortAes: dom('DataError'),
      badSpki: dom('DataError'),
      jwkKty: dom('DataError'),
      jwkBytes: type,
      rawObject: type,
      missingArgs: type,
      dataNotBytes: type,
      symbolName: type,
      illegal: type,
    });
  });
});

describe('CryptoKey', () => {
  test('shows type, extractable, algorithm and usages, and nothing of the key material', async () => {
    const out = await guest(`
      const k = await s.importKey('raw', enc.encode('0123456789abcdef'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
      const { privateKey } = await s.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign']);
      const getter = (name) => Object.getOwnPropertyDescriptor(CryptoKey.prototype, name).get;
      return Response.json({
        attrs: [k.type, k.extractable, k.algorithm, k.usages],
        sameObject: k.algorithm === k.algorithm && k.usages === k.usages,
        own: Reflect.ownKeys(k).length, json: JSON.stringify(k), tag: Object.prototype.toString.call(k), isKey: k instanceof CryptoKey,
        exponent: [privateKey.algorithm.publicExponent instanceof Uint8Array, Array.from(privateKey.algorithm.publicExponent)],
        brandCheck: await err(() => getter('type').call({})),
        viaSubtle: Object.prototype.toString.call(crypto.subtle),
      });`);
    expect(out).toEqual({
      attrs: ['secret', false, { name: 'HMAC', hash: { name: 'SHA-256' }, length: 128 }, ['sign', 'verify']],
      sameObject: true,
      own: 0,
      json: '{}',
      tag: '[object CryptoKey]',
      isKey: true,
      exponent: [true, [1, 0, 1]],
      brandCheck: ['TypeError', false],
      viaSubtle: '[object SubtleCrypto]',
    });
  });

  test('keys a function drops are given back: a key imported or generated on every request never fills the instance’s table', async () => {
    // the table holds 1024 keys: 1300 requests pass only if dropped keys are given back (see keys.ts)
    for (const make of [
      `crypto.subtle.importKey('raw', new TextEncoder().encode('secret'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])`,
      `crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])`,
    ]) {
      const name = await deploySource(`export default { async fetch() {
        const k = await ${make};
        return new Response(String((await crypto.subtle.sign('HMAC', k, new Uint8Array(4))).byteLength));
      } };`);
      for (let i = 0; i < 1300; i++) {
        const r = await invoke(name);
        if (r.status !== 200 || r.text !== '32') throw new Error(`${make}: request ${i}: ${r.status} ${r.text}`);
      }
    }
  }, 120_000);
});

describe('module top level', () => {
  test('a key imported by top-level await serves every request; a top-level job over cpuMs fails the load', async () => {
    const name = await deploySource(
      `const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('k'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      export default { async fetch() { return new Response(String((await crypto.subtle.sign('HMAC', key, new Uint8Array(1))).byteLength)); } };`,
    );
    for (let i = 0; i < 3; i++) expect((await invoke(name)).text).toBe('32');
    const slow = await deploySource(
      `const pw = await crypto.subtle.importKey('raw', new Uint8Array(8), 'PBKDF2', false, ['deriveBits']);
      await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt: new Uint8Array(8), iterations: 1000000 }, pw, 512);
      export default { fetch() { return new Response('never'); } };`,
      { cpuMs: 50 },
    );
    await expect(invoke(slow)).rejects.toMatchObject({ code: 'cpu_limit_exceeded' });
  }, 30_000);
});

describe('jose', () => {
  test('jose (bundled by faas compile) signs and verifies ES256, RS256 and EdDSA JWTs and round-trips JWEs in the sandbox', async () => {
    const source = `import * as jose from 'jose';
    export default { async fetch() {
      const es = await jose.generateKeyPair('ES256');
      const es256 = await new jose.SignJWT({ sub: 'es' }).setProtectedHeader({ alg: 'ES256' }).setIssuedAt().setExpirationTime('2h').sign(es.privateKey);
      const rs = await jose.generateKeyPair('RS256', { modulusLength: 2048 });
      const rs256 = await new jose.SignJWT({ sub: 'rs' }).setProtectedHeader({ alg: 'RS256' }).sign(rs.privateKey);
      const ed = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const eddsa = await new jose.SignJWT({ sub: 'ed' }).setProtectedHeader({ alg: 'EdDSA' }).sign(ed.privateKey);
      const oaep = await jose.generateKeyPair('RSA-OAEP-256');
      const jwe = await new jose.CompactEncrypt(new TextEncoder().encode('secret')).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }).encrypt(oaep.publicKey);
      const ecdh = await jose.generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256' });
      const jwe2 = await new jose.CompactEncrypt(new TextEncoder().encode('ecdh')).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A128CBC-HS256' }).encrypt(ecdh.publicKey);
      let tampered;
      try { await jose.jwtVerify(es256.slice(0, -4) + 'AAAA', es.publicKey); tampered = 'accepted'; } catch (e) { tampered = e.code; }
      return Response.json({
        verified: [(await jose.jwtVerify(es256, es.publicKey)).payload.sub, (await jose.jwtVerify(rs256, rs.publicKey)).payload.sub, (await jose.jwtVerify(eddsa, ed.publicKey)).payload.sub],
        decrypted: [new TextDecoder().decode((await jose.compactDecrypt(jwe, oaep.privateKey)).plaintext), new TextDecoder().decode((await jose.compactDecrypt(jwe2, ecdh.privateKey)).plaintext)],
        tampered,
        hostCheck: { token: rs256, jwk: await jose.exportJWK(rs.publicKey) },
      });
    } };`;
    const rt = await sharedRuntime();
    const { bytes } = await compileEntry({ source, filename: 'jose-fn.ts', resolveDir: REPO_ROOT }, signingKey);
    const name = `jose-${process.pid}`;
    rt.deploy(name, 1, verifyArtifact(bytes, signingKey), parseFunctionConfig({ cpuMs: 10_000, memoryMb: 8 }));
    const r = await invoke(name);
    expect(r.status, r.text).toBe(200);
    const out = r.json();
    expect(out.verified).toEqual(['es', 'rs', 'ed']);
    expect(out.decrypted).toEqual(['secret', 'ecdh']);
    expect(out.tampered).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    const [h, p, sig] = out.hostCheck.token.split('.');
    expect(nodeVerify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: out.hostCheck.jwk, format: 'jwk' }), unb64u(sig))).toBe(true);
  }, 60_000);
});
