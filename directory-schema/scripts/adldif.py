"""adldif: LDIF written for the project's slapd, in the form Active Directory takes.

The sample organization (directory-schema/sample/*.ldif) and the LDIF tests add
are written once, for slapd. Active Directory (and Samba AD) differs in three
ways that matter for that data, and this module bridges exactly those:

1. Passwords. AD sets a password through unicodePwd (the password in double
   quotes, UTF-16LE) and keeps userPassword as an ordinary attribute. A
   cleartext userPassword becomes unicodePwd. A hashed one ({SSHA}, {SHA})
   cannot be reversed: it becomes unicodePwd only when one of the cleartexts
   given with --password matches the hash, otherwise conversion fails.
2. References. AD refuses a DN-valued attribute that names no object
   (constraint violation 000020B5), so a reference to an entry added later in
   the same LDIF (group cycles, alternate-recipient loops, a server's routing
   group) is moved into a modify record after all adds. Loading offline into a
   Samba database (`load`) also skips entries that exist already (the domain
   head, CN=Users, CN=Configuration and CN=Services come with every AD) and
   leaves out references to objects that exist nowhere, reporting each on
   stderr: the sample's homeMTA and msExchResponsibleMTAServer values (the MTA
   objects are not part of the sample) and Lost Store's homeMDB (so on AD that
   broken recipient has no homeMDB: still 5.1.6).
3. Nothing else: entries keep their objectClass values, including the gw*
   auxiliary classes (AD 2003 and later accept auxiliary classes in objectClass,
   as slapd does), and every other attribute as written.

Commands (the first works without Samba; `load` needs Debian's python3-samba,
so run it with /usr/bin/python3):
  adldif.py convert [--password TEXT]... < slapd.ldif > ad.ldif
      Every output record has a changetype, so `ldapmodify` applies it as is.
  adldif.py load --samdb PATH --smbconf PATH [--password TEXT]... FILE...
      Writes into a stopped DC's sam.ldb as the system (no LDAP involved).
"""

import argparse
import base64
import hashlib
import re
import sys
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema"
DN_SYNTAX = "1.3.6.1.4.1.1466.115.121.1.12"
# DN-valued attributes of slapd's core/cosine/inetorgperson schema that the
# project's data may use (the project schema's own are read from its files).
CORE_DN_ATTRIBUTES = {"member", "owner", "seealso", "manager", "secretary", "roleoccupant"}


class LdifError(ValueError):
    """The input cannot be converted; the message says which entry and why."""


# ---------------------------------------------------------------- parsing ----

class Record:
    """One LDIF record. kind is "add", "modify", "delete" or "modrdn"; an add
    (and a modrdn: newrdn, deleteoldrdn, newsuperior) has attrs [(name,
    value)], a modify has ops [(op, name, [values])]. Values are str, or bytes
    when the input was base64 and not UTF-8 text."""

    def __init__(self, dn, kind):
        self.dn = dn
        self.kind = kind
        self.attrs = []
        self.ops = []


def _decode(value):
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def parse(text):
    """Parses LDIF content records and change records (add, modify)."""
    lines = []
    for raw in text.splitlines():
        if raw.startswith(" ") and lines and lines[-1] is not None:
            lines[-1] += raw[1:]
        elif raw.startswith("#"):
            continue
        elif not raw.strip():
            lines.append(None)
        else:
            lines.append(raw)
    lines.append(None)
    records, block = [], []
    for line in lines:
        if line is None:
            if block:
                records.append(_record(block))
            block = []
        else:
            block.append(line)
    return records


def _line(line):
    if line == "-":
        return "-", None
    match = re.match(r"^([A-Za-z0-9;.-]+)(::?)\s*(.*)$", line)
    if not match:
        raise LdifError(f"not an LDIF line: {line!r}")
    name, sep, value = match.groups()
    if sep == "::":
        value = _decode(base64.b64decode(value))
    return name, value


def _record(block):
    pairs = [_line(line) for line in block]
    if pairs[0][0].lower() != "dn":
        raise LdifError(f"record does not start with dn: {block[0]!r}")
    dn = pairs[0][1]
    rest = pairs[1:]
    kind = "add"
    if rest and rest[0][0].lower() == "changetype":
        kind = rest[0][1].strip().lower()
        rest = rest[1:]
    if kind == "moddn":
        kind = "modrdn"
    if kind not in ("add", "modify", "delete", "modrdn"):
        raise LdifError(f"{dn}: changetype {kind} is not supported")
    record = Record(dn, kind)
    if kind in ("add", "delete", "modrdn"):
        # delete has no lines; modrdn keeps newrdn / deleteoldrdn / newsuperior.
        record.attrs = [(name, value) for name, value in rest if name != "-"]
        return record
    op = None
    for name, value in rest:
        if name == "-":
            op = None
        elif op is None:
            if name.lower() not in ("add", "replace", "delete"):
                raise LdifError(f"{dn}: unknown modify operation {name}")
            op = [name.lower(), value.strip(), []]
            record.ops.append(op)
        else:
            if name.lower() != op[1].lower():
                raise LdifError(f"{dn}: value for {name} inside {op[0]}: {op[1]}")
            op[2].append(value)
    return record


def _value_line(name, value):
    if isinstance(value, bytes) or not _safe(value):
        data = value if isinstance(value, bytes) else value.encode("utf-8")
        return f"{name}:: {base64.b64encode(data).decode()}"
    return f"{name}: {value}"


def _safe(value):
    # RFC 2849 SAFE-STRING: no leading space, colon or '<', no trailing space,
    # ASCII without NUL, CR, LF.
    if value == "":
        return True
    if value[0] in " :<" or value[-1] == " ":
        return False
    return all(0 < ord(c) < 128 and c not in "\r\n" for c in value)


def write(records):
    """LDIF text with an explicit changetype on every record."""
    out = []
    for record in records:
        lines = [_value_line("dn", record.dn), f"changetype: {record.kind}"]
        if record.kind in ("add", "delete", "modrdn"):
            lines += [_value_line(name, value) for name, value in record.attrs]
        else:
            for op, name, values in record.ops:
                lines.append(f"{op}: {name}")
                lines += [_value_line(name, value) for value in values]
                lines.append("-")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


# ------------------------------------------------------------- conversion ----

def dn_attributes(schema_dir=SCHEMA_DIR):
    """Lower-case names of DN-valued attributes (project schema plus core)."""
    names = set(CORE_DN_ATTRIBUTES)
    for path in sorted(Path(schema_dir).glob("*.ldif")):
        text = re.sub(r"\n ", "", path.read_text())
        for match in re.finditer(r"olcAttributeTypes: \((.*)\)", text):
            body = match.group(1)
            syntax = re.search(r"SYNTAX (\S+)", body)
            if syntax and syntax.group(1).split("{")[0] == DN_SYNTAX:
                names.add(re.search(r"NAME '([^']+)'", body).group(1).lower())
    return names


def normalize_dn(dn):
    """Case- and space-insensitive form of a DN, for comparing references."""
    parts = []
    for rdn in re.split(r"(?<!\\),", dn):
        attr, _, value = rdn.partition("=")
        parts.append(attr.strip().lower() + "=" + value.strip().lower())
    return ",".join(parts)


def _matches_hash(hashed, password):
    scheme, _, encoded = hashed[1:].partition("}")
    scheme = scheme.upper()
    try:
        raw = base64.b64decode(encoded)
    except ValueError:
        return False
    if scheme == "SSHA":
        return hashlib.sha1(password.encode() + raw[20:]).digest() == raw[:20]
    if scheme == "SHA":
        return hashlib.sha1(password.encode()).digest() == raw
    return False


def unicode_pwd(user_password, known_passwords, dn):
    """The unicodePwd value for a userPassword value."""
    text = user_password.decode("utf-8") if isinstance(user_password, bytes) else user_password
    if re.match(r"^\{[A-Za-z0-9-]+\}", text):
        for candidate in known_passwords:
            if _matches_hash(text, candidate):
                text = candidate
                break
        else:
            raise LdifError(f"{dn}: userPassword is a {text.split('}')[0]}}} hash that none of the "
                            "--password values matches; AD needs the cleartext")
    return ('"' + text + '"').encode("utf-16-le")


def convert_passwords(record, known_passwords):
    """userPassword -> unicodePwd, in place."""
    if record.kind in ("delete", "modrdn"):
        return
    if record.kind == "add":
        passwords = [v for n, v in record.attrs if n.lower() == "userpassword"]
        if len(passwords) > 1:
            raise LdifError(f"{record.dn}: AD accepts one password, the entry has {len(passwords)}")
        record.attrs = [(n, v) for n, v in record.attrs if n.lower() != "userpassword"]
        if passwords:
            record.attrs.append(("unicodePwd", unicode_pwd(passwords[0], known_passwords, record.dn)))
        return
    ops = []
    for op, name, values in record.ops:
        if name.lower() != "userpassword":
            ops.append((op, name, values))
            continue
        if op == "delete" or not values:
            raise LdifError(f"{record.dn}: AD cannot delete a password, only set one")
        if len(values) > 1:
            raise LdifError(f"{record.dn}: AD accepts one password")
        # An administrator sets an AD password with a replace.
        ops.append(("replace", "unicodePwd", [unicode_pwd(values[0], known_passwords, record.dn)]))
    record.ops = ops


def convert(records, known_passwords=(), dn_attrs=None):
    """AD form of `records` for loading over LDAP: passwords converted and
    references to entries added later in the same input deferred to modify
    records after the last add."""
    dn_attrs = dn_attributes() if dn_attrs is None else dn_attrs
    added_at = {}
    for index, record in enumerate(records):
        if record.kind == "add":
            added_at.setdefault(normalize_dn(record.dn), index)
    out, deferred = [], []
    for index, record in enumerate(records):
        convert_passwords(record, known_passwords)
        if record.kind == "add":
            kept, later = [], {}
            for name, value in record.attrs:
                target = added_at.get(normalize_dn(value)) if name.lower() in dn_attrs and isinstance(value, str) else None
                if target is not None and target >= index:
                    later.setdefault(name, []).append(value)
                else:
                    kept.append((name, value))
            record.attrs = kept
            if later:
                modify = Record(record.dn, "modify")
                modify.ops = [("add", name, values) for name, values in later.items()]
                deferred.append(modify)
        out.append(record)
    return out + deferred


# ---------------------------------------------------------- offline load ----

def load(samdb_path, smbconf, files, known_passwords, report=sys.stderr):
    """Adds the records of `files` to a stopped DC's database as the system.
    Returns the number of values left out because their target does not exist."""
    import ldb  # noqa: imported here so `convert` runs without python3-samba
    from samba.auth import system_session
    from samba.param import LoadParm
    from samba.samdb import SamDB

    lp = LoadParm()
    lp.load(smbconf)
    # No fsync per write: the caller (samba-up.sh) builds throw-away data.
    db = SamDB(url=samdb_path, session_info=system_session(), lp=lp, flags=ldb.FLG_NOSYNC)
    dn_attrs = dn_attributes()

    def exists(dn):
        try:
            return len(db.search(base=dn, scope=ldb.SCOPE_BASE, attrs=["1.1"])) == 1
        except ldb.LdbError as error:
            if error.args[0] == ldb.ERR_NO_SUCH_OBJECT:
                return False
            raise

    def element(values, flag, name):
        return ldb.MessageElement([v if isinstance(v, bytes) else v.encode("utf-8") for v in values], flag, name)

    deferred = []  # (dn, attribute, value)
    for path in files:
        for record in parse(Path(path).read_text()):
            convert_passwords(record, known_passwords)
            if record.kind == "add":
                if exists(record.dn):
                    continue
                message = ldb.Message(ldb.Dn(db, record.dn))
                values = {}
                for name, value in record.attrs:
                    if name.lower() in dn_attrs and isinstance(value, str) and not exists(value):
                        deferred.append((record.dn, name, value))
                    else:
                        values.setdefault(name, []).append(value)
                for name, vals in values.items():
                    message[name] = element(vals, ldb.FLAG_MOD_ADD, name)
                try:
                    db.add(message)
                except ldb.LdbError as error:
                    raise LdifError(f"{path}: adding {record.dn}: {error.args[1]}") from error
            elif record.kind == "delete":
                db.delete(record.dn)
            elif record.kind == "modrdn":
                raise LdifError(f"{path}: {record.dn}: modrdn is not supported when loading offline")
            else:
                message = ldb.Message(ldb.Dn(db, record.dn))
                flags = {"add": ldb.FLAG_MOD_ADD, "replace": ldb.FLAG_MOD_REPLACE, "delete": ldb.FLAG_MOD_DELETE}
                for op, name, vals in record.ops:
                    if op != "delete" and name.lower() in dn_attrs:
                        missing = [v for v in vals if isinstance(v, str) and not exists(v)]
                        deferred += [(record.dn, name, v) for v in missing]
                        vals = [v for v in vals if v not in missing]
                        if not vals and op == "add":
                            continue
                    message[name] = element(vals, flags[op], name)
                if len(message) == 0:
                    continue
                try:
                    db.modify(message)
                except ldb.LdbError as error:
                    raise LdifError(f"{path}: modifying {record.dn}: {error.args[1]}") from error
    left_out = 0
    for dn, name, value in deferred:
        if not exists(value):
            print(f"adldif: left out {name} of {dn}: {value} does not exist", file=report)
            left_out += 1
            continue
        message = ldb.Message(ldb.Dn(db, dn))
        message[name] = element([value], ldb.FLAG_MOD_ADD, name)
        db.modify(message)
    return left_out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="slapd LDIF on stdin -> AD LDIF on stdout")
    conv.add_argument("--password", action="append", default=[],
                      help="cleartext that hashed userPassword values may match (repeatable)")
    ld = sub.add_parser("load", help="add LDIF files to a stopped Samba DC's sam.ldb")
    ld.add_argument("--samdb", required=True)
    ld.add_argument("--smbconf", required=True)
    ld.add_argument("--password", action="append", default=[])
    ld.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            sys.stdout.write(write(convert(parse(sys.stdin.read()), args.password)))
        else:
            load(args.samdb, args.smbconf, args.files, args.password)
    except LdifError as error:
        print(f"adldif: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
