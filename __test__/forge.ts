// Policy files re-written with a valid checksum after their metadata was edited: what
// a buggy or hostile writer produces. Format version 2 (crates/ac-core/src/artefacts/
// policy.rs): a safetensors file, u64 header length, JSON header whose `__metadata__`
// holds ialp's metadata as strings (`meta` the policy's JSON, `checksum` FNV-1a 64 of
// `meta`, then each tensor in name order: name, a 0 byte, its data), then the tensors' bytes.

export function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/** The parts of a policy's metadata (`__metadata__.meta`) the tests edit. */
export interface PolicyHeader {
  meta: { env: string; nItems: number; history: number; net: { hidden: number; depth: number; embedDim: number } };
  [field: string]: unknown;
}

/** The safetensors header (as JSON) and data of a version-2 policy file. */
export function splitSafetensors(bytes: Uint8Array): { header: Record<string, Record<string, unknown>>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
  return { header, data: bytes.subarray(8 + n) };
}

/** A safetensors file of `header` and `data`, its `__metadata__.checksum` made valid. */
export function joinSafetensors(header: Record<string, Record<string, unknown>>, data: Uint8Array): Uint8Array {
  const md = header.__metadata__;
  if (md && typeof md.meta === 'string') {
    const enc = new TextEncoder();
    const parts: Uint8Array[] = [enc.encode(md.meta)];
    const names = Object.keys(header).filter((k) => k !== '__metadata__').sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const [a, b] = header[name]!.data_offsets as [number, number];
      parts.push(enc.encode(name), new Uint8Array(1), data.subarray(a, b));
    }
    md.checksum = `fnv1a64:${fnv1a64(Buffer.concat(parts)).toString(16).padStart(16, '0')}`;
  }
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** `bytes` (a version-2 policy) with its metadata changed by `edit`, the checksum valid. */
export function forge(bytes: Uint8Array, edit: (header: PolicyHeader) => void): Uint8Array {
  const { header, data } = splitSafetensors(bytes);
  const md = header.__metadata__!;
  const h = { meta: JSON.parse(md.meta as string) as PolicyHeader['meta'] };
  edit(h);
  md.meta = JSON.stringify(h.meta);
  return joinSafetensors(header, data);
}
