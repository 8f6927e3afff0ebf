"""The gateway's message log (REFERENCE.md §2, X-Road's message log): a hash chain of every
accepted message, sealed in batches off the request path.

**Chain.** Every accepted message is appended, in the transaction that records it, as a
``message_log`` record::

    content = {"seq", "messageId", "correlationId", "senderId", "recipientId", "serviceId",
               "messageType", "receivedAt", "envelopeSha256", "envelope"}
    hash    = SHA-256(bytes.fromhex(prev_hash) || JCS(content))     (hex in the table)

where ``envelope`` is the delivered envelope (sender's ``signature`` and the gateway's
``gatewaySignature`` inside), ``envelopeSha256`` the SHA-256 of its JCS, and ``prev_hash`` the
previous record's hash (64 zeros before the first). Appends are serialised by the one-row
``log_head`` table (the last seq and hash), read ``FOR UPDATE`` on PostgreSQL and updated in the
same transaction; SQLite transactions here begin IMMEDIATE, which serialises them already.

**Seal.** A background task (:class:`LogSealer`, every ``gateway_log_seal_seconds``) takes the
unsealed records (up to 10,000 per seal), builds an RFC 9162 Merkle tree over their hashes
(leaf = SHA-256(0x00 || hash), node = SHA-256(0x01 || left || right)), signs the seal
statement ``JCS({"type": "egov-sim/message-log-seal", "firstSeq", "lastSeq", "lastHash",
"root"})`` with the gateway's key (detached CMS) and gets an RFC 3161 time-stamp from the НУЦ
whose message imprint is SHA-256 / the root (the root *is* the imprint: ``openssl ts -verify
-digest <root hex>``). Since every record hash covers the previous one, the root commits to the
whole chain up to ``lastSeq``. If the TSA is unreachable nothing is stored and the next pass
retries; sendMessage never waits for it.

**Check.** :func:`verify_log` walks the chain, recomputes every hash, checks the seals (roots,
signatures, time-stamps) and names the first altered record; :func:`export_message` gives one
message's record with its proof, and :func:`verify_export` checks such an export alone.
"""
from .chain import GENESIS_HASH, HEAD_ID, append, chain_hash, envelope_sha256, record_content, record_problem
from .export import export_message, verify_export
from .merkle import inclusion_path, leaf_hash, merkle_root, node_hash, verify_inclusion
from .seals import (MAX_SEAL_RECORDS, SEAL_TYPE, LogSealer, TimestampInfo, seal_pending, seal_statement,
                    verify_seal_signature, verify_timestamp)
from .verifier import LogReport, verify_log

__all__ = ["GENESIS_HASH", "HEAD_ID", "MAX_SEAL_RECORDS", "SEAL_TYPE", "LogReport", "LogSealer", "TimestampInfo",
           "append", "chain_hash", "envelope_sha256", "export_message", "inclusion_path", "leaf_hash",
           "merkle_root", "node_hash", "record_content", "record_problem", "seal_pending", "seal_statement",
           "verify_export", "verify_inclusion", "verify_log", "verify_seal_signature", "verify_timestamp"]
