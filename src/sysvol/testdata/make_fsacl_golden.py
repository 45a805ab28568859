#!/usr/bin/python3
"""Regenerates fsacl_golden.tsv: for each GPO security descriptor of
src/model/testdata/sddl_golden.tsv, the file-system ACL Samba's own
`samba.ntacls.dsacl2fsacl` derives from it (what `samba-tool ntacl sysvolreset`
stamps on a GPO's SYSVOL folder), printed with `as_sddl(domain_sid)`.

Run with Debian's python3 (the one with the samba bindings):
    /usr/bin/python3 src/sysvol/testdata/make_fsacl_golden.py > src/sysvol/testdata/fsacl_golden.tsv
"""
import os
import sys

from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.ntacls import dsacl2fsacl

here = os.path.dirname(os.path.abspath(__file__))
source = os.path.join(here, "..", "..", "model", "testdata", "sddl_golden.tsv")
for line in open(source, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        continue
    label, domain, hexsd = line.split("\t")[:3]
    try:
        ds = ndr_unpack(security.descriptor, bytes.fromhex(hexsd))
    except RuntimeError as e:
        sys.stderr.write("skipped (Samba cannot unpack it: %s): %s\n" % (e, label))
        continue
    if ds.dacl is None:
        continue  # dsacl2fsacl needs a DACL; a GPO always has one
    dom = security.dom_sid(domain)
    # provision.set_gpos_acl: the DS descriptor as plain SDDL, then dsacl2fsacl with the domain SID
    try:
        fs = dsacl2fsacl(ds.as_sddl(), dom)
    except (AttributeError, TypeError) as e:
        # the descriptor's SDDL does not parse back (with a DACL) in Samba's own round trip:
        # dsacl2fsacl cannot derive anything from it (synthetic edge cases, never a GPO's)
        sys.stderr.write("skipped (Samba's SDDL round trip fails: %s): %s\n" % (e, label))
        continue
    sys.stdout.write("\t".join([label, domain, hexsd, fs]) + "\n")
