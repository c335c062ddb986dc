#!/usr/bin/env node
// A second, independent verifier of an Arena log export, in JavaScript with Node's standard
// library only. It rebuilds the signed bytes with RFC 8785 (JCS), checks every Ed25519 signature,
// the hash chain, the RFC 9162 tree against the signed head and the C2SP checkpoint, the
// hidden-set commitments, and (with --witness) witnesses' cosignatures.
//
//   node verifiers/js/verify.mjs EXPORT.json [--public-key BASE64] [--witness VKEY]... [--min-witnesses K] [--json]
//
// Exit 0 when everything checks out, 1 naming each problem, 2 on bad usage.

import { createHash, createPublicKey, verify as edVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import { argv, exit } from "node:process";

// -- RFC 8785 -------------------------------------------------------------------------------------
export function jcs(value) {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("NaN or Infinity");
    return JSON.stringify(value); // ES2015 number and string serialisation is RFC 8785's
  }
  if (Array.isArray(value)) return "[" + value.map(jcs).join(",") + "]";
  const keys = Object.keys(value).sort(); // UTF-16 code unit order, as RFC 8785 asks
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + jcs(value[k])).join(",") + "}";
}

// The format before RFC 8785 (Python's json.dumps with sorted keys, keys in code point order).
// JavaScript cannot always rebuild it: 1.0 and 1 parse alike, and Python writes 1e-05 where
// JavaScript writes 0.00001. Numbers outside the range where both agree give null.
function legacy(value) {
  if (value === null || typeof value !== "object") {
    const size = Math.abs(value);
    if (typeof value === "number" && !Number.isInteger(value) && (size < 1e-4 || size >= 1e16)) return null;
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    const parts = value.map(legacy);
    return parts.includes(null) ? null : "[" + parts.join(",") + "]";
  }
  const keys = Object.keys(value).sort((a, b) => (a === b ? 0 : [...a].map((c) => c.codePointAt(0)) < [...b].map((c) => c.codePointAt(0)) ? -1 : 1));
  const parts = keys.map((k) => [k, legacy(value[k])]);
  if (parts.some(([, v]) => v === null)) return null;
  return "{" + parts.map(([k, v]) => JSON.stringify(k) + ":" + v).join(",") + "}";
}

export function canonical(statement) {
  if (statement && statement.v === 2) return Buffer.from(jcs(statement), "utf8");
  const text = legacy(statement);
  return text === null ? null : Buffer.from(text, "utf8");
}

// -- hashes, keys ---------------------------------------------------------------------------------
const sha256 = (...parts) => createHash("sha256").update(Buffer.concat(parts)).digest();
const leafHash = (data) => sha256(Buffer.from([0]), data);
const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r);

function edKey(raw) {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}

function verifyEd(raw, message, signature) {
  try {
    return signature.length === 64 && edVerify(null, message, edKey(raw), signature);
  } catch {
    return false;
  }
}

function verifyStatement(publicKey, statement, signature) {
  const bytes = canonical(statement);
  if (bytes === null) return null; // a legacy statement this verifier cannot rebuild
  return verifyEd(Buffer.from(publicKey, "base64"), bytes, Buffer.from(signature || "", "base64"));
}

// -- RFC 9162 tree --------------------------------------------------------------------------------
export function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256(Buffer.alloc(0));
  const stack = []; // [size, hash], sizes strictly decreasing
  for (const leaf of leaves) {
    let size = 1, hash = leaf;
    while (stack.length && stack[stack.length - 1][0] === size) {
      const [leftSize, left] = stack.pop();
      size += leftSize;
      hash = nodeHash(left, hash);
    }
    stack.push([size, hash]);
  }
  let hash = stack[stack.length - 1][1];
  for (let i = stack.length - 2; i >= 0; i--) hash = nodeHash(stack[i][1], hash);
  return hash;
}

// -- C2SP signed notes ----------------------------------------------------------------------------
export function parseVkey(text) {
  const [name, hexId, ...rest] = text.trim().split("+"); // base64 may hold "+" itself
  const b64 = rest.join("+");
  const raw = Buffer.from(b64 || "", "base64");
  const key = { name, alg: raw[0], pub: raw.subarray(1) };
  key.id = sha256(Buffer.from(name + "\n", "utf8"), Buffer.from([key.alg]), key.pub).subarray(0, 4);
  if (key.pub.length !== 32 || key.id.toString("hex") !== hexId) throw new Error(`not a verifier key: ${text}`);
  return key;
}

export function splitNote(note) {
  const at = note.indexOf("\n\n");
  if (at < 0) throw new Error("not a signed note");
  const text = note.slice(0, at + 1);
  const sigs = note.slice(at + 2).split("\n").filter(Boolean).map((line) => {
    if (!line.startsWith("\u2014 ")) throw new Error("not a signature line");
    const [name, b64] = line.slice(2).split(" ");
    const raw = Buffer.from(b64, "base64");
    return { name, id: raw.subarray(0, 4), payload: raw.subarray(4) };
  });
  const [origin, size, root] = text.split("\n");
  return { text, sigs, origin, size: Number(size), root: Buffer.from(root, "base64") };
}

function noteSigned(note, key) {
  for (const s of note.sigs) {
    if (s.name !== key.name || !s.id.equals(key.id)) continue;
    if (key.alg === 1 && verifyEd(key.pub, Buffer.from(note.text, "utf8"), s.payload)) return true;
    if (key.alg === 4 && s.payload.length === 72) {
      const time = s.payload.readBigUInt64BE(0);
      const message = Buffer.from(`cosignature/v1\ntime ${time}\n${note.text}`, "utf8");
      if (verifyEd(key.pub, message, s.payload.subarray(8))) return true;
    }
  }
  return false;
}

// -- the checks -----------------------------------------------------------------------------------
function checkEntries(doc, publicKey, problems, notes) {
  let previous = "0".repeat(64), lastAt = "";
  const roots = new Map(), leaves = [], keys = new Map(); // commitment keys certified, by key id
  doc.entries.forEach((entry, i) => {
    const body = entry.body, name = `entry ${i} (${body.kind})`;
    if (body.seq !== i) problems.push(`${name}: sequence number ${body.seq} where ${i} was expected`);
    if (body.prev !== previous) problems.push(`${name}: does not chain to the entry before it`);
    if (body.at < lastAt) problems.push(`${name}: written at ${body.at}, before the entry before it`);
    const bytes = canonical(body);
    const rebuilt = bytes !== null && leafHash(bytes).toString("hex") === entry.leaf_hash;
    if (body.v !== 2 && !rebuilt) notes.push(`${name}: format 1 bytes JavaScript cannot rebuild; its hash and signature are left to arena verify`);
    else {
      if (leafHash(bytes).toString("hex") !== entry.leaf_hash) problems.push(`${name}: its content does not match its hash`);
      if (!verifyStatement(publicKey, body, entry.signature)) problems.push(`${name}: the signature does not verify`);
    }
    if (body.data && body.data.commitment_key) checkKeyCertificate(body.data.commitment_key, name, publicKey, keys, problems);
    if (!roots.has(body.challenge)) roots.set(body.challenge, new Set());
    if (["challenge.open", "hidden_set.version"].includes(body.kind)) roots.get(body.challenge).add(body.data.root);
    if (body.kind === "result" && !roots.get(body.challenge).has(body.data.hidden_set_root))
      problems.push(`${name}: its hidden_set_root was never logged by ${body.challenge}`);
    previous = entry.leaf_hash;
    lastAt = body.at > lastAt ? body.at : lastAt;
    leaves.push(Buffer.from(entry.leaf_hash, "hex"));
  });
  return { leaves, roots, keys };
}

// A commitment key's certificate, in the entry of the first commitment it signed: the key statement
// signed by the new key and by the key that signed commitments before it.
function checkKeyCertificate(c, name, logKey, keys, problems) {
  const statement = { v: 2, type: "arena.key/v1", role: c.role, public_key: c.public_key,
                      key_id: keyId(c.public_key), previous: c.previous };
  const known = keys.size ? [...keys.values()] : [logKey];
  if (c.role !== "commitments" || !known.includes(c.previous) || !verifyStatement(c.public_key, statement, c.signature)
      || !verifyStatement(c.previous, statement, c.previous_signature || ""))
    problems.push(`${name}: the new ${c.role} key is not signed by itself and by the key before it`);
  else keys.set(keyId(c.public_key), c.public_key);
}

const keyId = (b64) => sha256(Buffer.from(b64, "base64")).toString("hex").slice(0, 8);

function checkHead(doc, publicKey, leaves, problems) {
  const { head, signature } = doc.tree_head;
  if (verifyStatement(publicKey, head, signature) === false) problems.push("the tree head's signature does not verify");
  if (head.size !== leaves.length) problems.push(`the tree head counts ${head.size} entries; the export holds ${leaves.length}`);
  else if (head.root !== merkleRoot(leaves).toString("hex")) problems.push("the tree head's root is not the root of the exported entries");
}

function checkCheckpoint(doc, logKey, leaves, problems) {
  if (!doc.checkpoint) return;
  const note = splitNote(doc.checkpoint);
  if (note.origin !== logKey.name || !noteSigned(note, logKey)) problems.push("the checkpoint is not signed by the log's key");
  if (note.size !== leaves.length || !note.root.equals(merkleRoot(leaves))) problems.push("the checkpoint is not the tree of the exported entries");
}

function checkCommitments(doc, publicKey, roots, keys, problems) {
  for (const c of doc.commitments || []) {
    const s = c.statement, name = `commitment v${s.version} of ${s.challenge}`;
    const key = "key_id" in s ? keys.get(s.key_id) : publicKey; // the log's key signed them before
    if (!key || verifyStatement(key, s, c.signature) === false) problems.push(`${name}: not signed by a commitment key the log certified`);
    if (!(roots.get(s.challenge) || new Set()).has(s.root)) problems.push(`${name}: its root is not one the log holds for the challenge`);
  }
}

function checkWitnesses(doc, logKey, leaves, witnesses, minimum, problems) {
  let count = 0;
  for (const w of witnesses) {
    let ok = false;
    for (const text of doc.cosigned || []) {
      const note = splitNote(text);
      if (!noteSigned(note, logKey) || !noteSigned(note, w)) continue;
      if (note.size > leaves.length || !merkleRoot(leaves.slice(0, note.size)).equals(note.root)) {
        problems.push(`witness ${w.name} cosigned a checkpoint of size ${note.size} that this log does not extend`);
        ok = false;
        break;
      }
      ok = true;
    }
    count += ok ? 1 : 0;
  }
  if (count < minimum) problems.push(`only ${count} of the ${minimum} witnesses required cosigned a checkpoint of this log`);
}

export function verifyExport(doc, { publicKey, witnesses = [], minimum = witnesses.length } = {}) {
  const problems = [], notes = [];
  const key = publicKey || doc.public_key;
  if (publicKey && publicKey !== doc.public_key) problems.push("the export names another public key than the one you trust");
  const { leaves, roots, keys } = checkEntries(doc, key, problems, notes);
  checkHead(doc, key, leaves, problems);
  let logKey = null;
  if (doc.log_key) {
    logKey = parseVkey(doc.log_key);
    if (logKey.pub.toString("base64") !== key) problems.push("the export's log key is not the public key you trust");
  }
  if (logKey) checkCheckpoint(doc, logKey, leaves, problems);
  checkCommitments(doc, key, roots, keys, problems);
  if (minimum > 0) {
    if (!logKey) problems.push("the export has no log key to check cosigned checkpoints with");
    else checkWitnesses(doc, logKey, leaves, witnesses, minimum, problems);
  }
  return { ok: problems.length === 0, entries: leaves.length, problems, notes };
}

function main(args) {
  const options = { witnesses: [] };
  let file = null, asJson = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--public-key") options.publicKey = args[++i];
    else if (args[i] === "--witness") options.witnesses.push(parseVkey(args[++i]));
    else if (args[i] === "--min-witnesses") options.minimum = Number(args[++i]);
    else if (args[i] === "--json") asJson = true;
    else if (!file && !args[i].startsWith("--")) file = args[i];
    else { console.error(`unknown argument ${args[i]}`); return 2; }
  }
  if (!file) { console.error("usage: verify.mjs EXPORT.json [--public-key B64] [--witness VKEY]... [--min-witnesses K] [--json]"); return 2; }
  let result;
  try {
    result = verifyExport(JSON.parse(readFileSync(file, "utf8")), options);
  } catch (error) {
    console.error(`${file} is not an Arena log export (${error.message})`);
    return 1;
  }
  if (asJson) console.log(JSON.stringify(result, null, 2));
  else if (result.ok) console.log(`OK: ${result.entries} log entries signed and chained; the tree head, checkpoint and commitments match`);
  else console.log(["FAILED", ...result.problems.map((p) => `  - ${p}`)].join("\n"));
  for (const note of asJson ? [] : result.notes) console.log(`  note: ${note}`);
  return result.ok ? 0 : 1;
}

if (import.meta.url === `file://${argv[1]}`) exit(main(argv.slice(2)));
