#!/usr/bin/python3
"""Samba's SDDL for binary security descriptors: the golden data of src/model/security.rs.

Run with Debian's /usr/bin/python3 and python3-samba installed (tested with Samba 4.17).

    scripts/sddl_expected.py < input.tsv > golden.tsv

Input lines are `label<TAB>domain-sid<TAB>descriptor`, where domain-sid may be `-` (the fixed
test domain below) and the descriptor is hex, or base64 after `b64:` (as ldapsearch prints
nTSecurityDescriptor). Output lines are
`label<TAB>domain-sid<TAB>hex<TAB>as_sddl()<TAB>as_sddl(domain-sid)`.

    scripts/sddl_expected.py --corpus [--samdb PATH/sam.ldb] > input.tsv

builds the input: the GPMC fixtures' descriptors, every defaultSecurityDescriptor of the AD
schema Samba ships, Samba's own provisioning descriptors, hand-made corner cases, and (with
--samdb, e.g. a throw-away `samba-tool domain provision --targetdir`) the nTSecurityDescriptor
of a real DC's GPOs and containers. With --ldif FILE:DOMAIN-SID it also takes the GPOs of a live DC, read as

    ldapsearch -LLL -o ldif-wrap=no -H ldaps://DC -x -D USER -w PASSWORD \
        -b CN=Policies,CN=System,DC=... -s one '(objectClass=groupPolicyContainer)' \
        displayName nTSecurityDescriptor -E '!1.2.840.113556.1.4.801=::MAMCAQc='

(the control asks for owner, group and DACL). The golden file was made with

    scripts/sddl_expected.py --corpus --samdb /tmp/prov/private/sam.ldb \
        --ldif /tmp/lab-gpos.ldif:S-1-5-21-4258998548-416389724-1716943296 \
        | scripts/sddl_expected.py > src/model/testdata/sddl_golden.tsv

where the first is a throw-away `samba-tool domain provision --domain-sid
S-1-5-21-1004336348-1177238915-682003330` with three GPOs added over ldb, and the second the
gpvault lab's corp.example.test (scripts/lab).

Samba crashes (returns NULL) on ACE types and flags it has no letters for, so the corpus
avoids them; the Rust tests cover those separately.
"""

import argparse
import base64
import glob
import os
import re
import struct
import sys
import uuid

from samba.dcerpc import security
from samba.ndr import ndr_pack, ndr_unpack

TEST_DOMAIN = "S-1-5-21-1004336348-1177238915-682003330"
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "gpmc")
SCHEMA = "/usr/share/samba/setup/ad-schema/AD_DS_Classes__Windows_Server_2016.ldf"


def expected(lines, out):
    for line in lines:
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        label, domain, blob = line.split("\t")
        data = base64.b64decode(blob[4:]) if blob.startswith("b64:") else bytes.fromhex(blob)
        sid = TEST_DOMAIN if domain == "-" else domain
        sd = ndr_unpack(security.descriptor, data, allow_remaining=True)
        plain = sd.as_sddl()
        with_domain = sd.as_sddl(security.dom_sid(sid))
        out.write("\t".join([label, sid, data.hex(), plain, with_domain]) + "\n")


# --- hand-built binary descriptors, for what SDDL cannot say ------------------------------

def sid_bytes(text):
    parts = text.split("-")
    rev, auth, subs = int(parts[1]), int(parts[2], 0), [int(p) for p in parts[3:]]
    return bytes([rev, len(subs)]) + auth.to_bytes(6, "big") + b"".join(struct.pack("<I", s) for s in subs)


def ace_bytes(ace_type, flags, mask, sid, obj=None, inh=None, trailing=b""):
    body = struct.pack("<I", mask)
    if ace_type in (5, 6, 7, 8):
        oflags = (1 if obj else 0) | (2 if inh else 0)
        body += struct.pack("<I", oflags)
        for g in (obj, inh):
            if g:
                body += uuid.UUID(g).bytes_le
    body += sid_bytes(sid) + trailing
    return struct.pack("<BBH", ace_type, flags, 4 + len(body)) + body


def acl_bytes(aces, revision=4, slack=0):
    body = b"".join(aces)
    return struct.pack("<BBHHH", revision, 0, 8 + len(body) + slack, len(aces), 0) + body + b"\0" * slack


def sd_bytes(control, owner=None, group=None, sacl=None, dacl=None):
    """Windows' layout: SACL, DACL, owner, group after the header."""
    parts, offsets, pos = [], {}, 20
    for name, blob in (("sacl", sacl), ("dacl", dacl), ("owner", owner), ("group", group)):
        if blob is None:
            offsets[name] = 0
            continue
        offsets[name] = pos
        parts.append(blob)
        pos += len(blob)
    header = struct.pack("<BBHIIII", 1, 0, control, offsets["owner"], offsets["group"], offsets["sacl"],
                         offsets["dacl"])
    return header + b"".join(parts)


def synthetic_binary():
    au, da = "S-1-5-11", TEST_DOMAIN + "-512"
    read = ace_bytes(0, 2, 0x20094, au)
    yield "bin: NULL DACL (present, no offset)", sd_bytes(0x8004, owner=sid_bytes(da))
    yield "bin: DACL offset without DACL_PRESENT", sd_bytes(0x8000, dacl=acl_bytes([read]))
    yield "bin: SACL offset without SACL_PRESENT", sd_bytes(0x8004, sacl=acl_bytes([ace_bytes(2, 0x40, 0x20, au)]),
                                                            dacl=acl_bytes([read]))
    yield "bin: ACE padded past its SID", sd_bytes(0x8004, dacl=acl_bytes([ace_bytes(0, 0, 0x20094, au, trailing=b"\0" * 4)]))
    yield "bin: ACL with slack after the last ACE", sd_bytes(0x8004, dacl=acl_bytes([read], slack=12))
    yield "bin: ACL revision 2", sd_bytes(0x8004, dacl=acl_bytes([read], revision=2))
    yield "bin: callback ACE with conditional expression", sd_bytes(
        0x8004, dacl=acl_bytes([ace_bytes(9, 0, 0x20094, au, trailing=b"artx\x80\x00\x00\x00")]))
    yield "bin: deny callback ACE", sd_bytes(0x8004, dacl=acl_bytes([ace_bytes(10, 2, 0x10000, au, trailing=b"artx")]))
    yield "bin: audit callback ACE", sd_bytes(0x8010, sacl=acl_bytes([ace_bytes(13, 0x80, 0x20, au, trailing=b"artx")]))
    yield "bin: alarm ACEs", sd_bytes(0x8010, sacl=acl_bytes([
        ace_bytes(3, 0x40, 0x20, au),
        ace_bytes(8, 0xc2, 0x30, au, obj="bf967aba-0de6-11d0-a285-00aa003049e2")]))
    yield "bin: object ACE without GUIDs", sd_bytes(0x8004, dacl=acl_bytes([ace_bytes(5, 0, 0x100, au)]))
    yield "bin: authority 2^32-1 and 2^32", sd_bytes(
        0x8004, owner=sid_bytes("S-1-4294967295-1"), group=sid_bytes("S-1-4294967296-7"),
        dacl=acl_bytes([ace_bytes(0, 0, 1, "S-1-0xffffffffffff-1-2"), ace_bytes(0, 0, 1, "S-1-5")]))
    yield "bin: all control bits", sd_bytes(0xffff, dacl=acl_bytes([read]), sacl=acl_bytes([]))
    yield "bin: control 0x8fff", sd_bytes(0x8fff, dacl=acl_bytes([]), sacl=acl_bytes([]))
    yield "bin: empty descriptor", sd_bytes(0x8000)
    yield "bin: domain SID itself and a SID under a RID", sd_bytes(
        0x8004, owner=sid_bytes(TEST_DOMAIN), dacl=acl_bytes([
            ace_bytes(0, 0, 1, TEST_DOMAIN + "-512-1"), ace_bytes(0, 0, 1, "S-1-5-21-1004336348-1177238915-512")]))


# --- descriptors written as SDDL and packed by Samba -------------------------------------

CORNER_SDDL = [
    "O:DAG:DAD:PAI(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;DA)"
    "(A;CIIO;RPWPCCDCLCLORCWOWDSDDTSW;;;CO)(A;;LCRPLORC;;;ED)S:AI(OU;CIIDSA;WPWD;;f30e3bc2-9ff0-11d1-b603-0000f80367c1;WD)",
    "O:LAG:LGD:(A;;GA;;;RO)(A;;GR;;;CN)(A;;GW;;;AP)(A;;GX;;;KA)(A;;GAGRGWGX;;;EK)(A;;0x1f01ff;;;RS)"
    "(A;;RC;;;PA)(A;;SD;;;CA)(A;;WD;;;SA)(A;;WO;;;DD)(A;;CR;;;DC)(A;;LO;;;DG)(A;;DT;;;DU)(A;;SW;;;EA)",
    "D:(A;;0x1f01ff;;;WD)(A;;0x120089;;;BU)(A;;0x200;;;BA)(A;;0x10020094;;;AU)(A;;0x0;;;SY)(A;;0x80000000;;;AN)"
    "(A;;0x00f01ff;;;S-1-5-32-557)(A;;0x400;;;S-1-5-21-1-2-3-512)",
    "D:(A;OI;CC;;;AU)(A;CI;CC;;;AU)(A;NP;CC;;;AU)(A;IO;CC;;;AU)(A;ID;CC;;;AU)(A;OICINPIOID;CC;;;AU)"
    "S:(AU;SA;WP;;;WD)(AU;FA;WP;;;WD)(AU;SAFA;WP;;;WD)(AU;CIIDSAFA;WP;;;WD)",
    "D:(OD;CI;WP;bf967a86-0de6-11d0-a285-00aa003049e2;BF967ABA-0DE6-11D0-A285-00AA003049E2;PS)"
    "(OA;CIIO;RP;;4828CC14-1437-45BC-9B07-AD6F015E5F28;RU)(OA;;CR;00299570-246D-11D0-A768-00AA006E0529;;WD)",
    "D:PARAI(A;;RC;;;AU)S:PARAI(AU;SA;WP;;;WD)",
    "D:AR(A;;RC;;;AU)",
    "D:",
    "D:P",
    "D:PAI",
    "O:SYG:SY",
    "S:",
    "S:P",
    "O:BAG:BAS:AI(AU;SA;CR;;;BA)",
    "",
]


def well_known_sddl():
    codes = ("WD CO CG OW NU IU SU AN ED PS AU RC SY LS NS WR BA BU BG PU AO SO PO BO RE RU RD NO MU LU IS CY "
             "ER CD RA ES MS HA AA RM UD AC LW ME MP HI SI AS SS").split()
    return "D:" + "".join("(A;;RP;;;%s)" % c for c in codes)


def schema_defaults():
    """Every distinct defaultSecurityDescriptor in Samba's copy of the 2016 schema."""
    text = open(SCHEMA, encoding="latin-1").read().replace("\n ", "")
    seen = []
    for entry in text.split("\n\n"):
        name = re.search(r"^dn: CN=([^,]+),", entry, re.M)
        sddl = re.search(r"^defaultSecurityDescriptor: (.*)$", entry, re.M)
        if name and sddl and sddl.group(1).strip() not in [s for _, s in seen]:
            seen.append((name.group(1), sddl.group(1).strip()))
    return seen


def samba_descriptors():
    from samba import descriptor
    domain = security.dom_sid(TEST_DOMAIN)
    for name in sorted(dir(descriptor)):
        if name.startswith("get_") and name.endswith("_descriptor"):
            try:
                yield name, getattr(descriptor, name)(domain)
            except TypeError:
                continue


def fixture_descriptors():
    paths = sorted(glob.glob(os.path.join(FIXTURES, "**", "Backup.xml"), recursive=True))
    for path in paths:
        text = open(path, encoding="utf-8", errors="replace").read()
        m = re.search(r"<SecurityDescriptor>([0-9a-fA-F ]+)</SecurityDescriptor>", text)
        if not m:
            continue
        data = bytes.fromhex(m.group(1).replace(" ", ""))
        sd = ndr_unpack(security.descriptor, data, allow_remaining=True)
        domain = "-"
        for ace in sd.dacl.aces:
            s = str(ace.trustee)
            if s.startswith("S-1-5-21-") and s.count("-") == 7:
                domain = s.rsplit("-", 1)[0]
                break
        yield "fixture: " + os.path.relpath(path, FIXTURES), domain, data


def samdb_descriptors(path):
    import ldb
    from samba.auth import system_session
    from samba.param import LoadParm
    from samba.samdb import SamDB
    lp = LoadParm()
    smbconf = os.path.join(os.path.dirname(os.path.dirname(path)), "etc", "smb.conf")
    if os.path.exists(smbconf):
        lp.load(smbconf)
    db = SamDB(url=path, session_info=system_session(), lp=lp)
    domain = str(db.get_domain_sid())
    expression = ("(|(objectClass=groupPolicyContainer)(objectClass=organizationalUnit)(objectClass=domain)"
                  "(cn=Policies)(cn=Users)(cn=Builtin)(cn=AdminSDHolder)(cn=Administrator)(cn=krbtgt)"
                  "(cn=Domain Admins)(cn=User)(cn=Machine))")
    res = db.search(base=db.domain_dn(), scope=ldb.SCOPE_SUBTREE, expression=expression,
                    attrs=["nTSecurityDescriptor"], controls=["sd_flags:1:15"])
    for msg in sorted(res, key=lambda m: str(m.dn).lower()):
        dn = str(msg.dn).replace(db.domain_dn().__str__(), "DC=...")
        yield "samba dc: " + dn, domain, bytes(msg["nTSecurityDescriptor"][0])


def ldif_descriptors(spec):
    """`FILE:DOMAIN-SID`: ldapsearch -o ldif-wrap=no output with displayName and
    nTSecurityDescriptor; one row per distinct descriptor, by display name."""
    path, domain = spec.split(":", 1)
    rows = {}
    for entry in open(path, encoding="utf-8").read().split("\n\n"):
        fields = {}
        for line in entry.splitlines():
            if ":: " in line:
                key, value = line.split(":: ", 1)
                fields[key] = base64.b64decode(value)
            elif ": " in line:
                key, value = line.split(": ", 1)
                fields[key] = value.encode()
        if "nTSecurityDescriptor" in fields:
            rows[fields.get("displayName", b"?").decode()] = fields["nTSecurityDescriptor"]
    seen = set()
    for name in sorted(rows):
        if rows[name] not in seen:
            seen.add(rows[name])
            yield "lab dc: " + name, domain, rows[name]


def corpus(samdb, ldifs, out):
    def emit(label, domain, data):
        out.write("%s\t%s\t%s\n" % (label, domain, data.hex()))

    domain = security.dom_sid(TEST_DOMAIN)
    for label, dom, data in fixture_descriptors():
        emit(label, dom, data)
    if samdb:
        for label, dom, data in samdb_descriptors(samdb):
            emit(label, dom, data)
    for spec in ldifs:
        for label, dom, data in ldif_descriptors(spec):
            emit(label, dom, data)
    for i, sddl in enumerate(CORNER_SDDL + [well_known_sddl()]):
        emit("sddl %d: %s" % (i, sddl[:60]), "-", ndr_pack(security.descriptor.from_sddl(sddl, domain)))
    for label, data in synthetic_binary():
        emit(label, "-", data)
    for name, data in samba_descriptors():
        emit("samba provision: " + name, "-", data)
    for name, sddl in schema_defaults():
        try:
            packed = ndr_pack(security.descriptor.from_sddl(sddl, domain))
        except TypeError:
            continue  # Samba 4.17 cannot parse one of them ("D: (A;...)", with a space)
        emit("schema default: " + name, "-", packed)
        if name == "Group-Policy-Container":
            owned = "O:DAG:DA" + sddl
            emit("schema default with owner: " + name, "-", ndr_pack(security.descriptor.from_sddl(owned, domain)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", action="store_true", help="print the input corpus instead")
    parser.add_argument("--samdb", help="a provisioned sam.ldb to read real descriptors from")
    parser.add_argument("--ldif", action="append", default=[], metavar="FILE:DOMAIN-SID",
                        help="GPO descriptors read from a live DC with ldapsearch (see above)")
    args = parser.parse_args()
    if args.corpus:
        corpus(args.samdb, args.ldif, sys.stdout)
    else:
        expected(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
