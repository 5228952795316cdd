"""directory-schema/ad/*.ldf, loaded into a Samba AD DC by samba-up.sh, gives
Active Directory everything directory-schema/schema/*.ldif gives slapd: the
same attribute and class names, OIDs, syntaxes, single/multi-valuedness and
superclasses, and every class allows at least the attributes slapd allows
(through its superclasses and auxiliary classes, as AD computes it). The .ldf
files define nothing the slapd schema lacks."""

import re
import subprocess
import unittest
from pathlib import Path

from directory_fixture import Samba

ROOT = Path(__file__).resolve().parents[3] / "directory-schema"
SCHEMA_DN = "CN=Schema,CN=Configuration,DC=example,DC=com"
# Names slapd publishes in the root DSE only; AD has no schema object for them.
ROOT_DSE_ONLY = {"configurationNamingContext", "defaultNamingContext"}

DIRECTORY_STRING = "1.3.6.1.4.1.1466.115.121.1.15"
# AD (attributeSyntax, oMSyntax) -> the slapd syntax the project stores it as
# (directory-schema/README.md "Syntax mapping").
SLAPD_SYNTAX_OF = {
    ("2.5.5.12", "64"): DIRECTORY_STRING,                    # Unicode string
    ("2.5.5.4", "20"): DIRECTORY_STRING,                     # Teletex
    ("2.5.5.5", "19"): "1.3.6.1.4.1.1466.115.121.1.44",      # Printable
    ("2.5.5.9", "2"): "1.3.6.1.4.1.1466.115.121.1.27",       # Integer
    ("2.5.5.9", "10"): "1.3.6.1.4.1.1466.115.121.1.27",      # Enumeration
    ("2.5.5.16", "65"): "1.3.6.1.4.1.1466.115.121.1.27",     # LargeInteger
    ("2.5.5.8", "1"): "1.3.6.1.4.1.1466.115.121.1.7",        # Boolean
    ("2.5.5.1", "127"): "1.3.6.1.4.1.1466.115.121.1.12",     # DN
    ("2.5.5.7", "127"): "1.3.6.1.4.1.1466.115.121.1.12",     # OR-Name
    ("2.5.5.10", "4"): "1.3.6.1.4.1.1466.115.121.1.40",      # Octet string
    ("2.5.5.15", "66"): "1.3.6.1.4.1.1466.115.121.1.40",     # NT security descriptor
    ("2.5.5.11", "24"): "1.3.6.1.4.1.1466.115.121.1.24",     # Generalized time
}
CATEGORY = {"STRUCTURAL": "1", "ABSTRACT": "2", "AUXILIARY": "3"}


def slapd_schema():
    """(attributes, classes) of directory-schema/schema/*.ldif by NAME."""
    attributes, classes, macros = {}, {}, {}
    for path in sorted((ROOT / "schema").glob("*.ldif")):
        text = re.sub(r"\n ", "", path.read_text())
        for name, oid in re.findall(r"^olcObjectIdentifier: (\S+) (\S+)$", text, re.M):
            macros[name] = oid
        for kind, body in re.findall(r"^olc(AttributeTypes|ObjectClasses): \( (.*) \)$", text, re.M):
            oid = body.split()[0]
            if ":" in oid:
                macro, number = oid.split(":")
                oid = f"{macros[macro]}.{number}"
            name = re.search(r"NAME '([^']+)'", body).group(1)

            def names(keyword):
                match = re.search(keyword + r" (\( [^)]* \)|\S+)", body)
                if not match:
                    return []
                value = match.group(1)
                return [v.strip() for v in value.strip("()").split("$") if v.strip()]

            if kind == "AttributeTypes":
                syntax = re.search(r"SYNTAX (\S+)", body).group(1).split("{")[0]
                attributes[name] = {"oid": oid, "syntax": syntax, "single": "SINGLE-VALUE" in body}
            else:
                kind_word = next(k for k in CATEGORY if k in body)
                classes[name] = {"oid": oid, "sup": names("SUP")[0], "kind": kind_word,
                                 "must": names("MUST"), "may": names("MAY")}
    return attributes, classes


def ldif_records(text):
    records = []
    for block in re.split(r"\n\s*\n", re.sub(r"\n ", "", text)):
        record = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            record.setdefault(key.lower(), []).append(value.lstrip(": ").strip())
        if record:
            records.append(record)
    return records


def samba_schema(samba):
    output = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-E", "pr=500/noprompt", "-H", samba.uri,
         "-D", samba.admin_dn, "-w", samba.admin_password, "-b", SCHEMA_DN, "-s", "one",
         "(|(objectClass=attributeSchema)(objectClass=classSchema))",
         "lDAPDisplayName", "attributeID", "governsID", "attributeSyntax", "oMSyntax", "isSingleValued",
         "subClassOf", "objectClassCategory", "mayContain", "systemMayContain", "mustContain",
         "systemMustContain", "auxiliaryClass", "systemAuxiliaryClass"],
        capture_output=True, text=True, check=True).stdout
    schema = {}
    for record in ldif_records(output):
        if "ldapdisplayname" in record:
            schema[record["ldapdisplayname"][0]] = record
    return schema


class AdSchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.attributes, cls.classes = slapd_schema()
        with Samba(empty=True) as samba:
            cls.ad = samba_schema(samba)

    def one(self, name, key):
        return self.ad[name].get(key, [None])[0]

    def test_every_slapd_attribute_exists_in_ad_with_the_same_oid_syntax_and_valuedness(self):
        for name, attribute in self.attributes.items():
            if name in ROOT_DSE_ONLY:
                continue
            with self.subTest(attribute=name):
                self.assertIn(name, self.ad)
                self.assertEqual(self.one(name, "attributeid"), attribute["oid"])
                self.assertEqual(self.one(name, "issinglevalued") == "TRUE", attribute["single"])
                ad_syntax = (self.one(name, "attributesyntax"), self.one(name, "omsyntax"))
                self.assertEqual(SLAPD_SYNTAX_OF.get(ad_syntax), attribute["syntax"], ad_syntax)

    def test_every_slapd_class_exists_in_ad_with_the_same_oid_superclass_and_kind(self):
        for name, cls in self.classes.items():
            with self.subTest(objectclass=name):
                self.assertIn(name, self.ad)
                self.assertEqual(self.one(name, "governsid"), cls["oid"])
                self.assertEqual(self.one(name, "subclassof"), cls["sup"])
                self.assertEqual(self.one(name, "objectclasscategory"), CATEGORY[cls["kind"]])

    def allowed_in_ad(self, name, seen=None):
        seen = set() if seen is None else seen
        if name in seen or name not in self.ad:
            return set()
        seen.add(name)
        record = self.ad[name]
        allowed = set()
        for key in ("maycontain", "systemmaycontain", "mustcontain", "systemmustcontain"):
            allowed |= set(record.get(key, []))
        for key in ("subclassof", "auxiliaryclass", "systemauxiliaryclass"):
            for other in record.get(key, []):
                allowed |= self.allowed_in_ad(other, seen)
        return allowed

    def allowed_in_slapd(self, name):
        allowed, cls = set(), self.classes.get(name)
        while cls:
            allowed |= set(cls["must"]) | set(cls["may"])
            cls = self.classes.get(cls["sup"]) if cls["sup"] != name else None
        return allowed

    def test_every_class_allows_in_ad_what_it_allows_in_slapd(self):
        for name in self.classes:
            with self.subTest(objectclass=name):
                missing = self.allowed_in_slapd(name) - self.allowed_in_ad(name)
                self.assertEqual(missing, set())

    def test_the_ldf_files_define_only_what_the_slapd_schema_defines(self):
        for path in sorted((ROOT / "ad").glob("*.ldf")):
            for record in ldif_records(path.read_text()):
                kinds = record.get("objectclass", [])
                if "attributeSchema" in kinds or "classSchema" in kinds:
                    name = record["ldapdisplayname"][0]
                    with self.subTest(file=path.name, name=name):
                        self.assertTrue(name in self.attributes or name in self.classes)
                        self.assertTrue(record["dn"][0].endswith(",CN=Schema,CN=Configuration,DC=X"))


if __name__ == "__main__":
    unittest.main()
