/** The digests SQS clients check, against published vectors (RFC 1321 and AWS's own samples). */
import { describe, expect, it } from "vitest";
import { md5Hex, md5OfAttributes } from "../../src/sqs/md5";

const utf8 = (text: string) => new TextEncoder().encode(text);

describe("sqs md5", () => {
  it("computes MD5 in workerd (RFC 1321 test suite)", async () => {
    expect(await md5Hex("")).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(await md5Hex("abc")).toBe("900150983cd24fb0d6963f7d28e17f72");
    expect(await md5Hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890")).toBe("57edf4a22be3c955ac49da2e2107b67a");
  });

  it("hashes a body as its UTF-8 bytes", async () => {
    // md5 of the UTF-8 bytes of "é" (c3 a9).
    expect(await md5Hex("é")).toBe(await md5Hex(Uint8Array.of(0xc3, 0xa9)));
  });

  it("matches AWS's sample with two String attributes, sorted by name", async () => {
    expect(
      await md5OfAttributes({
        test_attribute_name_2: { dataType: "String", stringValue: "test_attribute_value_2" },
        test_attribute_name_1: { dataType: "String", stringValue: "test_attribute_value_1" },
      }),
    ).toBe("d53f3b558fe951154770f25cb63dbba9");
  });

  it("matches AWS's sample with a Binary attribute", async () => {
    expect(await md5OfAttributes({ test_attribute_name: { dataType: "Binary", binaryValue: utf8("test_attribute_value") } })).toBe(
      "23f6bd27ea87aab7dfeadcc9aebee495",
    );
  });

  it("matches a published Number + String sample", async () => {
    expect(
      await md5OfAttributes({
        ordinal: { dataType: "Number", stringValue: "1" },
        category: { dataType: "String", stringValue: "test" },
      }),
    ).toBe("d21ae90c49061e927f57df5f5d72be1f");
  });

  it("matches the SQS developer guide's single-attribute sample", async () => {
    expect(await md5OfAttributes({ SellerName: { dataType: "String", stringValue: "Example Store" } })).toBe("cd28f3b68aeee4b2eac9c66f2f694b58");
  });

  it("gives none for no attributes", async () => {
    expect(await md5OfAttributes({})).toBeUndefined();
  });
});
