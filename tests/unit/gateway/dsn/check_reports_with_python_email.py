#!/usr/bin/env python3
"""Parses every DSN golden file with Python's email package, an independent
MIME implementation, and checks the RFC 3464 structure it sees: a
multipart/report of report-type delivery-status with three parts, a
delivery-status part whose first block names the Reporting-MTA and whose other
blocks each carry Final-Recipient, Action and Status, and a returned original
that is a message or a header section. Exit status 0 when all pass."""

import email
import email.policy
import pathlib
import re
import sys


def check(path: pathlib.Path) -> list[str]:
    errors = []
    raw = path.read_bytes().replace(b"\n", b"\r\n")  # goldens are stored with LF
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if msg.get_content_type() != "multipart/report":
        return [f"top-level type is {msg.get_content_type()}"]
    if msg.get_param("report-type") != "delivery-status":
        errors.append("report-type is not delivery-status")
    if msg["Auto-Submitted"] != "auto-replied":
        errors.append("Auto-Submitted missing")
    if msg.defects:
        errors.append(f"defects: {msg.defects}")
    parts = msg.get_payload()
    if len(parts) != 3:
        return errors + [f"{len(parts)} parts"]
    text, status, original = parts
    if text.get_content_type() != "text/plain":
        errors.append(f"first part is {text.get_content_type()}")
    if status.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
        errors.append(f"second part is {status.get_content_type()}")
    blocks = status.get_payload()
    if status.get_content_type() == "message/global-delivery-status":
        # The email package does not know RFC 6533 and reads the part as one
        # embedded message (first block = its header); split the blocks again.
        inner = blocks[0] if isinstance(blocks, list) and blocks else None
        body = inner.as_bytes(policy=email.policy.SMTPUTF8).replace(b"\r\n", b"\n") if inner else b""
        blocks = [email.message_from_bytes(b.strip(b"\n") + b"\n", policy=email.policy.default)
                  for b in body.split(b"\n\n") if b.strip()]
    if not isinstance(blocks, list) or len(blocks) < 2:
        return errors + ["delivery-status did not parse into blocks"]
    if not blocks[0]["Reporting-MTA"]:
        errors.append("Reporting-MTA missing")
    for block in blocks[1:]:
        for field in ("Final-Recipient", "Action", "Status"):
            if not block[field]:
                errors.append(f"{field} missing in a recipient block")
        if block["Action"] not in ("failed", "delayed", "delivered", "relayed", "expanded"):
            errors.append(f"bad Action {block['Action']}")
        if not re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", str(block["Status"])):
            errors.append(f"bad Status {block['Status']}")
    if original.get_content_type() not in ("message/rfc822", "message/global", "text/rfc822-headers",
                                           "message/global-headers"):
        errors.append(f"third part is {original.get_content_type()}")
    return errors


def main() -> int:
    folder = pathlib.Path(sys.argv[1])
    goldens = sorted(folder.glob("*.golden"))
    if not goldens:
        print(f"no golden files in {folder}")
        return 1
    failed = False
    for path in goldens:
        errors = check(path)
        print(f"{path.name}: {'ok' if not errors else '; '.join(errors)}")
        failed |= bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
