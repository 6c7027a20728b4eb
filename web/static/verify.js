// Chestnut's in-browser verifier: checks ledger entries with the browser's own WebCrypto, trusting
// nothing the server says about them.
//
// For every step on the page (an element with data-seq and data-kind inside [data-steps]):
//   1. fetch the entry's exact bytes (/ledger/entries) and check that it is the kind of step shown
//      (a restricted entry comes as its leaf hash only: then only its inclusion is checked);
//   2. check the actor's Ed25519 signature over "chestnut-action/v1\n" || the signed action bytes;
//   3. fetch its RFC 9162 inclusion proof (/ledger/proof/<seq>?size=N) and fold SHA256(0x00 || entry)
//      up the path to the checkpoint's root;
// and once: the checkpoint (the latest witnessed one, else the latest signed one) is a C2SP signed note
// whose Ed25519 signature by the ledger key verifies, and each cosignature line (c2sp.org/tlog-cosignature,
// "cosignature/v1\ntime <t>\n" + note text) by a known replica verifies too.
// No library, no build step: only crypto.subtle (SHA-256 and Ed25519, in current Chromium).
"use strict";

(function () {
  const enc = new TextEncoder();
  const SIGNED_MARK = enc.encode(',"signed":');
  const ACTION_PREFIX = enc.encode("chestnut-action/v1\n");

  function b64(text) {
    const bin = atob(text.trim());
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function concat(...parts) {
    const n = parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  async function ed25519(publicKey, signature, message) {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }

  // --- C2SP signed notes -------------------------------------------------------------------------
  // A verifier key: name+hex(keyID)+base64(alg || pubkey32). alg 0x01: Ed25519 note signatures;
  // 0x04: tlog-cosignature/v1.
  async function parseVerifierKey(vkey) {
    // The base64 part may itself contain '+': split at the first two only.
    const text = vkey.trim();
    const a = text.indexOf("+");
    const b = text.indexOf("+", a + 1);
    if (a < 1 || b !== a + 9) throw new Error("bad verifier key");
    const parts = [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
    const raw = b64(parts[2]);
    const alg = raw[0];
    const pub = raw.slice(1);
    if (pub.length !== 32) throw new Error("bad verifier key length");
    const id = (await sha256(concat(enc.encode(parts[0]), new Uint8Array([0x0a, alg]), pub))).slice(0, 4);
    if (hex(id) !== parts[1].toLowerCase()) throw new Error("verifier key id does not match");
    return { name: parts[0], id, alg, pub };
  }

  function splitNote(note) {
    const cut = note.lastIndexOf("\n\n");
    if (cut < 0) throw new Error("not a signed note");
    const text = note.slice(0, cut + 1);
    const sigs = [];
    for (const line of note.slice(cut + 2).split("\n")) {
      if (!line) continue;
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("bad signature line");
      sigs.push({ name: m[1], raw: b64(m[2]) });
    }
    return { text, sigs };
  }

  function parseCheckpoint(text) {
    const lines = text.split("\n");
    if (lines.length < 4) throw new Error("not a checkpoint");
    return { origin: lines[0], size: Number(lines[1]), root: b64(lines[2]) };
  }

  async function checkNoteSignature(text, sigs, key) {
    for (const s of sigs) {
      if (s.name === key.name && equal(s.raw.slice(0, 4), key.id)) {
        if (await ed25519(key.pub, s.raw.slice(4), enc.encode(text))) return true;
      }
    }
    return false;
  }

  // Returns the cosignature's timestamp (seconds) or null.
  async function checkCosignature(text, sigs, key) {
    for (const s of sigs) {
      if (s.name !== key.name || s.raw.length !== 76 || !equal(s.raw.slice(0, 4), key.id)) continue;
      let t = 0n;
      for (let i = 4; i < 12; i++) t = (t << 8n) | BigInt(s.raw[i]);
      const msg = concat(enc.encode("cosignature/v1\ntime " + t.toString() + "\n"), enc.encode(text));
      if (await ed25519(key.pub, s.raw.slice(12), msg)) return Number(t);
    }
    return null;
  }

  // --- RFC 9162 §2.1.3.2 inclusion -----------------------------------------------------------------
  async function node(left, right) {
    return sha256(concat(new Uint8Array([1]), left, right));
  }
  async function rootFromInclusion(leaf, index, size, path) {
    if (index >= size) return null;
    let fn = index, sn = size - 1, r = leaf;
    for (const p of path) {
      if (sn === 0) return null;
      if (fn % 2 === 1 || fn === sn) {
        r = await node(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await node(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  function indexOf(haystack, needle) {
    outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
      for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  }

  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) throw new Error(url + " → " + r.status);
    return r.json();
  }
  async function getText(url) {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) { const e = new Error(url + " → " + r.status); e.status = r.status; throw e; }
    return r.text();
  }

  async function checkpoint() {
    const trust = await getJSON("/ledger/trust.json");
    // The latest checkpoint the replicas cosigned, when there is one; else the latest signed one.
    let note = null;
    const witnessed = Boolean(trust.witnessed);
    if (witnessed) {
      try { note = await getText("/ledger/checkpoint/witnessed"); } catch (e) { note = null; }
    }
    if (note === null) note = await getText("/ledger/checkpoint");
    const { text, sigs } = splitNote(note);
    const cp = parseCheckpoint(text);
    const ledgerKey = await parseVerifierKey(trust.ledger_key);
    const signed = await checkNoteSignature(text, sigs, ledgerKey);
    const cosigners = [];
    for (const w of trust.witnesses || []) {
      try {
        const key = await parseVerifierKey(w.key);
        const t = await checkCosignature(text, sigs, key);
        if (t !== null) cosigners.push({ name: key.name, operator: w.operator || key.name, time: t });
      } catch (e) { /* an unknown or malformed key verifies nothing */ }
    }
    return { cp, signed, cosigners, witnessed, ledgerName: ledgerKey.name };
  }

  async function checkStep(seq, kind, cp) {
    if (seq >= cp.size) return { ok: false, why: "아직 체크포인트에 들어가지 않았어요. 잠시 후 다시 눌러 주세요." };
    const page = await getJSON("/ledger/entries?start=" + seq + "&end=" + (seq + 1));
    if (!page.entries || page.entries.length !== 1 || page.entries[0].seq !== seq) {
      return { ok: false, why: "장부에서 이 기록을 찾지 못했어요." };
    }
    if (page.entries[0].restricted) return checkRestricted(seq, kind, page.entries[0], cp);
    const entry = b64(page.entries[0].entry);
    const cut = indexOf(entry, SIGNED_MARK);
    if (cut < 0 || entry[entry.length - 1] !== 0x7d) return { ok: false, why: "기록의 모양이 올바르지 않아요." };
    const actionBytes = entry.slice(cut + SIGNED_MARK.length, entry.length - 1);
    const action = JSON.parse(new TextDecoder().decode(actionBytes));
    const header = JSON.parse(new TextDecoder().decode(concat(entry.slice(0, cut), enc.encode("}"))));
    if (header.seq !== seq) return { ok: false, why: "기록 번호가 맞지 않아요." };
    if (kind && !kind.split("|").includes(action.kind)) return { ok: false, why: "장부의 기록이 이 단계와 달라요 (" + action.kind + ")." };
    const signedOk = await ed25519(b64(action.actor), b64(header.sig), concat(ACTION_PREFIX, actionBytes));
    if (!signedOk) return { ok: false, why: "기록한 사람의 서명이 맞지 않아요." };
    const proof = await getJSON("/ledger/proof/" + seq + "?size=" + cp.size);
    const leaf = await sha256(concat(new Uint8Array([0]), entry));
    const root = await rootFromInclusion(leaf, seq, cp.size, proof.inclusion.map(b64));
    if (root === null || !equal(root, cp.root)) {
      return { ok: false, why: "포함 증명이 체크포인트의 뿌리 해시와 맞지 않아요. 이 기록은 확인되지 않았어요." };
    }
    return { ok: true, why: "서명 확인 · 장부 포함 확인 (경로 " + proof.inclusion.length + "단계)" };
  }

  // A restricted entry is served as its leaf hash only (to anyone but its member and the replicas):
  // its inclusion can be checked, not what it says — so it can never stand for a step of a given kind.
  async function checkRestricted(seq, kind, item, cp) {
    if (kind) return { ok: false, why: "비공개 기록이라 이 단계인지 확인할 수 없어요." };
    const proof = await getJSON("/ledger/proof/" + seq + "?size=" + cp.size);
    const leaf = b64(item.leaf_hash);
    if (!equal(leaf, b64(proof.leaf_hash))) return { ok: false, why: "잎 해시가 증명과 달라요." };
    const root = await rootFromInclusion(leaf, seq, cp.size, proof.inclusion.map(b64));
    if (root === null || !equal(root, cp.root)) {
      return { ok: false, why: "포함 증명이 체크포인트의 뿌리 해시와 맞지 않아요. 이 기록은 확인되지 않았어요." };
    }
    return { ok: true, why: "🔒 내용은 비공개 · 장부 포함 확인 (경로 " + proof.inclusion.length + "단계)" };
  }

  function when(seconds) {
    try {
      return new Date(seconds * 1000).toLocaleString("ko-KR", { timeZone: "Asia/Seoul" });
    } catch (e) { return String(seconds); }
  }

  async function run(button) {
    const box = document.querySelector("[data-verify-result]");
    const steps = Array.from(document.querySelectorAll("[data-steps] [data-seq]"));
    button.disabled = true;
    box.className = "result working";
    box.textContent = "확인하고 있어요…";
    let cp;
    try {
      cp = await checkpoint();
    } catch (e) {
      box.className = "result bad";
      box.textContent = "❌ 체크포인트를 확인하지 못했어요. (" + e.message + ")";
      box.dataset.outcome = "failed";
      button.disabled = false;
      return;
    }
    let good = 0;
    for (const el of steps) {
      const mark = el.querySelector("[data-mark]");
      let result;
      try {
        result = await checkStep(Number(el.dataset.seq), el.dataset.kind, cp.cp);
      } catch (e) {
        result = { ok: false, why: "확인하지 못했어요 (" + e.message + ")" };
      }
      if (result.ok) good++;
      el.classList.toggle("verified", result.ok);
      el.classList.toggle("failed", !result.ok);
      if (mark) mark.textContent = (result.ok ? "✅ " : "❌ ") + result.why;
    }
    const all = good === steps.length && cp.signed;
    const lines = [];
    if (all) {
      lines.push("✅ 확인됐어요. 이 페이지의 기록 " + steps.length + "개가 모두 밤나무 장부에 그대로 들어 있어요.");
    } else {
      lines.push("❌ 확인되지 않았어요. 기록 " + steps.length + "개 중 " + good + "개만 맞았어요. 이 페이지를 믿지 마세요.");
    }
    lines.push(
      cp.signed
        ? "장부 체크포인트 #" + cp.cp.size + "의 서명(" + cp.ledgerName + ")을 이 브라우저에서 직접 확인했어요."
        : "장부 체크포인트의 서명이 맞지 않아요."
    );
    if (cp.cosigners.length) {
      lines.push(
        "이 체크포인트는 독립된 복제 노드 " + cp.cosigners.length + "곳이 함께 서명했어요: " +
          cp.cosigners.map((c) => c.operator + " (" + when(c.time) + ")").join(", ") + "."
      );
    } else {
      lines.push("아직 이 체크포인트에 함께 서명한 복제 노드는 없어요 (장부의 서명만 확인했어요).");
    }
    lines.push("각 기록은 기록한 사람의 서명을 확인하고, 머클 경로를 SHA-256으로 따라가 체크포인트의 뿌리 해시와 맞춰 봤어요.");
    box.className = "result " + (all ? "good" : "bad");
    box.replaceChildren(...lines.map((t) => { const p = document.createElement("p"); p.textContent = t; return p; }));
    box.dataset.outcome = all ? "verified" : "failed";
    button.disabled = false;
  }

  // Proof of liabilities (formats §11): fold the member's leaf up the sum tree.
  async function checkLiability(el) {
    const data = JSON.parse(el.dataset.liability);
    const u64 = (n) => { const b = new Uint8Array(8); let v = BigInt(n); for (let i = 7; i >= 0; i--) { b[i] = Number(v & 255n); v >>= 8n; } return b; };
    let h = await sha256(concat(b64(data.salt), enc.encode(data.account)));
    let sum = BigInt(data.balance);
    for (const s of data.path) {
      const sh = b64(s.hash), ss = BigInt(s.total);
      if (ss < 0n || sum < 0n) { h = null; break; }
      h = s.left ? await sha256(concat(sh, u64(ss), h, u64(sum))) : await sha256(concat(h, u64(sum), sh, u64(ss)));
      sum += ss;
    }
    const ok = h !== null && equal(h, b64(data.root)) && sum === BigInt(data.total);
    const box = document.querySelector("[data-liability-result]");
    box.className = "result " + (ok ? "good" : "bad");
    box.dataset.outcome = ok ? "verified" : "failed";
    box.textContent = ok
      ? "✅ 내 잔액이 공개된 합계 안에 들어 있어요. 이 브라우저에서 SHA-256으로 직접 확인했어요."
      : "❌ 내 잔액이 공개된 합계와 맞지 않아요. 시장 사무실에 알려 주세요.";
  }

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.querySelector("[data-verify]");
    if (button) button.addEventListener("click", () => run(button));
    const lia = document.querySelector("[data-liability]");
    if (lia) document.querySelector("[data-liability-check]").addEventListener("click", () => checkLiability(lia));
  });
})();
