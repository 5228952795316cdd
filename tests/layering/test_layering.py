"""The layering check: the project's own targets, and the checker on small made-up trees."""
import os
import tempfile
import unittest

import check_layering


def write(root, relative, text=""):
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    return path


class ProjectLayering(unittest.TestCase):
    def test_no_target_includes_a_header_of_a_target_it_does_not_link(self):
        manifest = os.environ["LAYERING_MANIFEST"]
        targets = check_layering.load_manifest(manifest)
        self.assertIn("gw_common", targets, "the manifest lists the project's targets")
        violations = check_layering.check(targets, os.environ["SOURCE_ROOT"], os.environ["BINARY_ROOT"])
        self.assertEqual(violations, [], "\n" + "\n".join(violations))


class Checker(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = os.path.join(self.tmp.name, "src")
        self.build = os.path.join(self.tmp.name, "build")
        os.makedirs(self.build)

    def tearDown(self):
        self.tmp.cleanup()

    def target(self, name, folder, sources, closure=(), type_="STATIC_LIBRARY"):
        return check_layering.Target(name, type_, os.path.join(self.root, folder),
                                     [os.path.join(self.root, folder, s) for s in sources], list(closure))

    def two_libraries(self, b_links_a):
        write(self.root, "a/a.h", "#pragma once\n")
        write(self.root, "a/a.cpp", '#include "a/a.h"\n')
        write(self.root, "b/b.h", "#pragma once\n")
        write(self.root, "b/b.cpp", '#include "b/b.h"\n#include "a/a.h"\n')
        return {"a": self.target("a", "a", ["a.cpp"]),
                "b": self.target("b", "b", ["b.cpp"], ["a"] if b_links_a else [])}

    def test_an_include_of_a_linked_library_passes(self):
        self.assertEqual(check_layering.check(self.two_libraries(True), self.root, self.build), [])

    def test_an_include_of_a_library_not_linked_is_reported(self):
        violations = check_layering.check(self.two_libraries(False), self.root, self.build)
        self.assertEqual(len(violations), 1)
        self.assertIn('b/b.cpp (b) includes "a/a.h" of a, which b does not link', violations[0])

    def test_a_header_is_checked_against_its_own_target(self):
        write(self.root, "a/a.h", '#pragma once\n#include "b/b.h"\n')
        write(self.root, "a/a.cpp", '#include "a/a.h"\n')
        write(self.root, "b/b.h", "#pragma once\n")
        write(self.root, "b/b.cpp", '#include "b/b.h"\n')
        targets = {"a": self.target("a", "a", ["a.cpp"]), "b": self.target("b", "b", ["b.cpp"])}
        violations = check_layering.check(targets, self.root, self.build)
        self.assertEqual(len(violations), 1)
        self.assertIn('a/a.h (a) includes "b/b.h" of b', violations[0])

    def test_a_header_only_interface_belongs_to_the_library_of_its_folder(self):
        write(self.root, "a/a.cpp", "")
        write(self.root, "a/interface.h", "#pragma once\n")
        write(self.root, "b/b.cpp", '#include "a/interface.h"\n')
        targets = {"a": self.target("a", "a", ["a.cpp"]), "b": self.target("b", "b", ["b.cpp"])}
        violations = check_layering.check(targets, self.root, self.build)
        self.assertEqual(len(violations), 1)
        self.assertIn('"a/interface.h" of a', violations[0])

    def test_generated_headers_belong_to_the_target_that_compiles_them(self):
        write(self.build, "proto/x.pb.h", "")
        write(self.build, "proto/x.pb.cc", "")
        write(self.root, "b/b.cpp", '#include "proto/x.pb.h"\n')
        targets = {"proto": check_layering.Target("proto", "STATIC_LIBRARY", os.path.join(self.root, "proto"),
                                                  [os.path.join(self.build, "proto/x.pb.cc")], []),
                   "b": self.target("b", "b", ["b.cpp"])}
        violations = check_layering.check(targets, self.root, self.build)
        self.assertEqual(len(violations), 1)
        self.assertIn('"proto/x.pb.h" of proto', violations[0])

    def test_files_of_no_target_may_be_included_by_anyone(self):
        write(self.root, "support/helper.h", "#pragma once\n")
        write(self.root, "b/b.cpp", '#include "support/helper.h"\n')
        targets = {"b": self.target("b", "b", ["b.cpp"], type_="EXECUTABLE")}
        self.assertEqual(check_layering.check(targets, self.root, self.build), [])

    def test_the_manifest_format_round_trips(self):
        path = write(self.tmp.name, "manifest.txt",
                     "b\tSTATIC_LIBRARY\t/src/b\t/src/b/b.cpp;/src/b/c.cpp\ta;proto\n"
                     "exe\tEXECUTABLE\t/src/e\t/src/e/main.cpp\t\n")
        targets = check_layering.load_manifest(path)
        self.assertEqual(targets["b"].sources, ["/src/b/b.cpp", "/src/b/c.cpp"])
        self.assertEqual(targets["b"].closure, ["a", "proto"])
        self.assertEqual(targets["exe"].closure, [])


if __name__ == "__main__":
    unittest.main()
