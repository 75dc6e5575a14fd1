/**
 * The MD5 digests SQS clients check: `MD5OfMessageBody` (send), `MD5OfBody` (receive) and
 * `MD5OfMessageAttributes` (AWS's published algorithm: attributes sorted by name, each as
 * length-prefixed name, data type, a transport byte (1 string/number, 2 binary) and value).
 *
 * MD5 is not in WebCrypto's standard list; workerd supports it in `crypto.subtle.digest` as a
 * non-standard extension (checked 2026-12-02 with the workerd of vitest-plugin 1.5.0 and
 * miniflare 5.20261117; test/runtime/sqs-md5.test.ts holds AWS's test vectors).
 */

const encoder = new TextEncoder();

export function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export async function md5Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return hex(await crypto.subtle.digest("MD5", bytes));
}

/** One message attribute as the SQS API carries it (binary values already decoded). */
export interface TypedAttribute {
  dataType: string;
  /** String and Number values. */
  stringValue?: string;
  /** Binary values, raw bytes. */
  binaryValue?: Uint8Array;
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.byteLength);
  new DataView(out.buffer).setUint32(0, bytes.byteLength, false);
  out.set(bytes, 4);
  return out;
}

/** Compare names as AWS does: by their UTF-16 code units, like Java's String.compareTo. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `MD5OfMessageAttributes`; undefined when there are no attributes (SQS then omits it). */
export async function md5OfAttributes(attributes: Record<string, TypedAttribute>): Promise<string | undefined> {
  const names = Object.keys(attributes).sort(byName);
  if (names.length === 0) return undefined;
  const parts: Uint8Array[] = [];
  for (const name of names) {
    const attribute = attributes[name]!;
    parts.push(lengthPrefixed(encoder.encode(name)), lengthPrefixed(encoder.encode(attribute.dataType)));
    if (attribute.binaryValue !== undefined) {
      parts.push(Uint8Array.of(2), lengthPrefixed(attribute.binaryValue));
    } else {
      parts.push(Uint8Array.of(1), lengthPrefixed(encoder.encode(attribute.stringValue ?? "")));
    }
  }
  const total = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.byteLength;
  }
  return md5Hex(total);
}
