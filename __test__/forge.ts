// Artefacts re-framed with a valid checksum after their header was edited: what a
// buggy or hostile writer produces (crates/sim/src/artefact.rs has the framing:
// magic, version, header length, JSON header, f32 payload, FNV-1a 64 checksum).

export function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/** The parts of a policy header (crates/ac-core/src/artefacts/policy.rs) the tests edit. */
export interface PolicyHeader {
  meta: { env: string; nItems: number; history: number; net: { hidden: number; depth: number; embedDim: number } };
  [field: string]: unknown;
}

/** `bytes` with its JSON header changed by `edit`, framed again with a valid checksum. */
export function forge(bytes: Uint8Array, edit: (header: PolicyHeader) => void): Uint8Array {
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + hlen))) as PolicyHeader;
  edit(header);
  const h = new TextEncoder().encode(JSON.stringify(header));
  const payload = bytes.subarray(16 + hlen, bytes.length - 8);
  const body = new Uint8Array(16 + h.length + payload.length);
  body.set(bytes.subarray(0, 12));
  new DataView(body.buffer).setUint32(12, h.length, true);
  body.set(h, 16);
  body.set(payload, 16 + h.length);
  const out = new Uint8Array(body.length + 8);
  out.set(body);
  new DataView(out.buffer).setBigUint64(body.length, fnv1a64(body), true);
  return out;
}
