// Checks verify.mjs against the published RFC 8785 vectors (verifiers/vectors.json):
//   node verifiers/js/vectors.test.mjs   (exit 0 when every vector holds)
import { createHash, createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { jcs } from "./verify.mjs";

const doc = JSON.parse(readFileSync(new URL("../vectors.json", import.meta.url), "utf8"));
let failed = 0;
for (const v of doc.vectors) {
  const got = jcs(JSON.parse(v.input));
  if (got !== v.canonical) { failed++; console.log(`FAIL ${v.name}: ${got} != ${v.canonical}`); }
}
const e = doc.signed_entry, body = JSON.parse(e.body_json), bytes = Buffer.from(jcs(body), "utf8");
const leaf = createHash("sha256").update(Buffer.concat([Buffer.from([0]), bytes])).digest("hex");
const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(e.public_key, "base64").toString("base64url") }, format: "jwk" });
if (bytes.toString("utf8") !== e.canonical || leaf !== e.leaf_hash) { failed++; console.log("FAIL signed entry bytes or leaf hash"); }
if (!verify(null, bytes, key, Buffer.from(e.signature, "base64"))) { failed++; console.log("FAIL signed entry signature"); }
console.log(failed ? `${failed} vector(s) failed` : `${doc.vectors.length} vectors and the signed entry hold`);
process.exit(failed ? 1 : 0);
