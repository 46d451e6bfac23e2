"""Test-only driver: exercises the published Python port of the decision log
(PyPI `agentguard-spend`, pinned by scripts/parity-venv.mjs) as a black box,
through its public functions only. Reads one JSON request on stdin, writes one
JSON response on stdout. No code of the port is copied here.

The network is cut off before the port is imported: every socket connect and
name lookup raises, and each attempt is counted and reported back, so the
TypeScript test can assert that none happened.
"""
import asyncio
import json
import os
import socket
import sys

ATTEMPTS = []


def _blocked(*args, **kwargs):
    ATTEMPTS.append(repr(args[:2])[:200])
    raise OSError("network disabled by the agentguard parity driver")


socket.socket.connect = _blocked
socket.socket.connect_ex = _blocked
socket.create_connection = _blocked
socket.getaddrinfo = _blocked

if not os.environ.get("AGENTGUARD_HOME") or os.environ.get("AGENTGUARD_NO_BEACON") != "1":
    sys.exit("driver.py: AGENTGUARD_HOME and AGENTGUARD_NO_BEACON=1 must be set")

import agentguard_spend as ag  # noqa: E402
from agentguard_spend.spend_guard import SigningKeys, SpendGuard, SpendGuardConfig  # noqa: E402


def no_network(*args, **kwargs):
    ATTEMPTS.append("callback:" + repr(args[:1])[:200])
    raise RuntimeError("network disabled by the agentguard parity driver")


def decode(v):
    """JSON cannot carry floats like 1.0, NaN or big ints faithfully: tagged values."""
    if isinstance(v, dict):
        if set(v) == {"$float"}:
            return float(v["$float"])
        if set(v) == {"$int"}:
            return int(v["$int"])
        return {k: decode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [decode(x) for x in v]
    return v


def err(e):
    return {"error": f"{type(e).__name__}: {e}"}


def entry_of(d):
    return ag.SignedDecisionLogEntry(
        sequence=d["sequence"], decision=decode(d["decision"]), previousHash=d["previousHash"],
        entryHash=d["entryHash"], signature=d["signature"], signerFingerprint=d["signerFingerprint"],
    )


async def verify(job):
    try:
        r = await ag.verify_chain([entry_of(d) for d in job["entries"]], bytes.fromhex(job["publicKeyHex"]))
        return {"ok": bool(r.ok), "sequence": r.sequence, "reason": r.reason}
    except Exception as e:  # the port lets canonicalization errors escape verify_chain
        return err(e)


def canonical(job):
    try:
        return {"out": ag.canonical_json(decode(job["value"]))}
    except Exception as e:
        return err(e)


async def sign_chain(job):
    seed = bytes.fromhex(job["seedHex"])
    pub = ag.public_key_from_seed(seed)
    prev, out = ag.GENESIS_PREVIOUS_HASH, []
    for seq, d in enumerate(job["decisions"]):
        d = dict(d)
        cap = d.pop("triggeredCap", None)
        decision = ag.SpendDecision(triggeredCap=ag.SpendCap(**cap) if cap else None, **d)
        e = await ag.sign_decision(sequence=seq, decision=decision, previous_hash=prev, private_key=seed, public_key=pub)
        prev = e.entryHash
        out.append(e.to_dict())
    return out


async def spendguard_chain(job):
    seed = bytes.fromhex(job["seedHex"])
    pub = ag.public_key_from_seed(seed)
    policy = ag.SpendPolicy(
        id=job["policyId"], name="parity", scope=ag.SpendScope(tenantId=job["tenantId"]),
        caps=[ag.SpendCap(amountCents=job["capCents"], window="per_day", action="block", reason=job["capReason"])],
        mode="enforce", version=1, effectiveFrom="2026-01-01T00:00:00.000Z",
    )
    guard = SpendGuard(SpendGuardConfig(
        policy=policy, signingKeys=SigningKeys(privateKey=seed, publicKey=pub),
        licensePostJson=no_network, consentGetJson=no_network, managedKeyGetJson=no_network,
    ))
    out = []
    for tokens in job["calls"]:
        _, entry = await guard.decide(ag.CallContext(provider="openai", model="gpt-4o", inputTokens=tokens,
                                                     outputTokens=tokens, scope=ag.SpendScope(tenantId=job["tenantId"])))
        out.append(entry.to_dict())
    for receipt in job["outcomes"]:
        _, entry = await guard.record_outcome_receipt(receipt)
        out.append(entry.to_dict())
    return out


async def main():
    req = json.load(sys.stdin)
    res = {
        "version": getattr(ag, "__version__", None),
        "verify": [await verify(j) for j in req.get("verify", [])],
        "canonical": [canonical(j) for j in req.get("canonical", [])],
        "signChains": [await sign_chain(j) for j in req.get("signChains", [])],
        "spendguardChains": [await spendguard_chain(j) for j in req.get("spendguardChains", [])],
    }
    res["networkAttempts"] = ATTEMPTS
    json.dump(res, sys.stdout, ensure_ascii=True)


asyncio.run(main())
