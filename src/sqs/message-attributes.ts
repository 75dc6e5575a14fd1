/**
 * SQS message attributes (typed: String, Number, Binary, each with an optional custom suffix)
 * kept in an edgepost message's `attributes` map (string to string), so the same message reads
 * naturally through the HTTP API: `{"color": "red"}`. The value is the attribute's string (a
 * Binary one in base64); a type other than plain `String` is kept beside it under
 * `sqs:type:<name>`, a key no SQS attribute name can take (SQS names have no `:`).
 */
import { SqsError } from "./errors";
import { md5OfAttributes, type TypedAttribute } from "./md5";

export const TYPE_KEY_PREFIX = "sqs:type:";
export const MAX_MESSAGE_ATTRIBUTES = 10;

/** One attribute as the SQS JSON protocol carries it. */
export interface WireAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** SQS's allowed characters in bodies and string values (XML 1.0's, as AWS documents). */
const DISALLOWED_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function checkText(text: string, what: string): void {
  const bad = DISALLOWED_CHARS.exec(text);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    throw new SqsError("InvalidMessageContents", `${what} contains the character U+${code}, which SQS does not allow (allowed: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF)`);
  }
}

const NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\.[A-Za-z0-9_.-]+)?$/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function checkName(name: string): void {
  const lower = name.toLowerCase();
  if (!NAME.test(name) || name.startsWith(".") || name.endsWith(".") || name.includes("..") || lower.startsWith("aws.") || lower.startsWith("amazon.")) {
    throw new SqsError(
      "InvalidParameterValue",
      `message attribute name ${JSON.stringify(name.slice(0, 300))} is invalid: 1-256 of A-Z a-z 0-9 _ - ., not starting or ending with ., no .., not starting with AWS. or Amazon.`,
    );
  }
}

function decodeBase64(value: string, name: string): Uint8Array {
  if (!BASE64.test(value) || value.length % 4 !== 0) throw new SqsError("InvalidParameterValue", `message attribute ${name}: BinaryValue is not base64`);
  const binary = atob(value);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** Validate wire attributes and turn them into edgepost's attribute map. */
export function toEdgepostAttributes(input: Record<string, WireAttribute> | undefined): Record<string, string> | undefined {
  if (!input) return undefined;
  const names = Object.keys(input);
  if (names.length === 0) return undefined;
  if (names.length > MAX_MESSAGE_ATTRIBUTES) {
    throw new SqsError("InvalidParameterValue", `Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`);
  }
  const out: Record<string, string> = {};
  for (const name of names) {
    checkName(name);
    const attribute = input[name]!;
    const dataType = attribute.DataType;
    if (typeof dataType !== "string" || dataType.length > 256 || !DATA_TYPE.test(dataType)) {
      throw new SqsError("InvalidParameterValue", `message attribute ${name}: DataType must be String, Number or Binary, optionally with a .custom suffix`);
    }
    if (dataType.startsWith("Binary")) {
      if (typeof attribute.BinaryValue !== "string") throw new SqsError("InvalidParameterValue", `message attribute ${name} of type ${dataType} needs a BinaryValue`);
      decodeBase64(attribute.BinaryValue, name);
      out[name] = attribute.BinaryValue;
    } else {
      const value = attribute.StringValue;
      if (typeof value !== "string" || value.length === 0) throw new SqsError("InvalidParameterValue", `message attribute ${name} of type ${dataType} needs a non-empty StringValue`);
      checkText(value, `message attribute ${name}`);
      if (dataType.startsWith("Number") && !NUMBER.test(value)) throw new SqsError("InvalidParameterValue", `message attribute ${name}: ${JSON.stringify(value.slice(0, 50))} is not a Number`);
      out[name] = value;
    }
    if (dataType !== "String") out[`${TYPE_KEY_PREFIX}${name}`] = dataType;
  }
  return out;
}

/** An edgepost attribute map (as stored) back into typed attributes; plain keys are Strings. */
export function fromEdgepostAttributes(stored: Record<string, string> | null): Record<string, WireAttribute> {
  const out: Record<string, WireAttribute> = {};
  if (!stored) return out;
  for (const [key, value] of Object.entries(stored)) {
    if (key.startsWith(TYPE_KEY_PREFIX)) continue;
    const dataType = stored[`${TYPE_KEY_PREFIX}${key}`] ?? "String";
    out[key] = dataType.startsWith("Binary") ? { DataType: dataType, BinaryValue: value } : { DataType: dataType, StringValue: value };
  }
  return out;
}

/** Keep the attributes a ReceiveMessage asked for: names, `All`, `.*`, or `prefix.*`. */
export function selectAttributes(all: Record<string, WireAttribute>, wanted: readonly string[] | undefined): Record<string, WireAttribute> {
  if (!wanted || wanted.length === 0) return {};
  if (wanted.includes("All") || wanted.includes(".*")) return all;
  const out: Record<string, WireAttribute> = {};
  for (const [name, attribute] of Object.entries(all)) {
    if (wanted.some((pattern) => (pattern.endsWith(".*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name))) out[name] = attribute;
  }
  return out;
}

/** `MD5OfMessageAttributes` of wire attributes (undefined for none). */
export function md5OfWireAttributes(attributes: Record<string, WireAttribute>): Promise<string | undefined> {
  const typed: Record<string, TypedAttribute> = {};
  for (const [name, attribute] of Object.entries(attributes)) {
    if (attribute.BinaryValue !== undefined) {
      let bytes: Uint8Array;
      try {
        bytes = Uint8Array.from(atob(attribute.BinaryValue), (char) => char.charCodeAt(0));
      } catch {
        // A value set through the HTTP API that is not base64: digest its text.
        bytes = new TextEncoder().encode(attribute.BinaryValue);
      }
      typed[name] = { dataType: attribute.DataType, binaryValue: bytes };
    } else {
      typed[name] = { dataType: attribute.DataType, stringValue: attribute.StringValue ?? "" };
    }
  }
  return md5OfAttributes(typed);
}
