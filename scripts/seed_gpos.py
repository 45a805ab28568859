#!/usr/bin/python3
"""Seed a lab Samba AD DC with realistic Group Policy Objects.

Run with /usr/bin/python3 (it needs Debian's python3-samba bindings). It writes
straight into the DC's local sam.ldb (one ldb transaction, fine while samba
runs: tdb locking keeps the server consistent) and straight into the DC's
local SYSVOL folder. No network traffic at all.

  seed_gpos.py realistic --dc-dir DIR --set corp|branch
      OUs, users, groups, WMI filters and ~a dozen GPOs that together carry
      every kind of content gpvault must round-trip (see seed_corp/seed_branch).
      Refuses to run twice on the same domain (exit 0, says so). Sets the SYSVOL
      NT ACLs like `samba-tool ntacl sysvolreset` would, only faster; run it
      inside the DC's /run/samba namespace (scripts/lab does).
  seed_gpos.py bulk --dc-dir DIR --count N [--at-least]
      N more "Bulk GPO 0001"-style GPOs (or, with --at-least, top up to N).
      Their SYSVOL NT ACLs are the ones `samba-tool ntacl sysvolreset` would set
      (sysvolcheck agrees), written directly as security.NTACL xattrs (v1):
      ~0 s instead of ~0.14 s per GPO. Files stay root-owned, mode 644/755.

DIR is the DC's provision target dir (DIR/etc/smb.conf, DIR/private/sam.ldb,
DIR/state/sysvol). A manifest of everything seeded is kept in
DIR/seed-manifest.json so tests can compare a backup against it.
"""

import argparse
import json
import os
import random
import struct
import time
import uuid

import ldb
from samba.auth import system_session
from samba.dcerpc import security, xattr
from samba.ndr import ndr_pack, ndr_unpack
from samba.ntacls import dsacl2fsacl
from samba.param import LoadParm
from samba.samdb import SamDB

PASSWORD = os.environ.get("GPVAULT_LAB_PASSWORD", "Lab-Passw0rd.1")

# --- Client-side extension (CSE) and snap-in tool GUIDs -----------------------
REGISTRY = "{35378EAC-683F-11D2-A89A-00C04FBBCFA2}"
REG_TOOL_M = "{D02B1F72-3407-48AE-BA88-E8213C6761F1}"
REG_TOOL_U = "{D02B1F73-3407-48AE-BA88-E8213C6761F1}"
SECURITY = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"
SEC_TOOL = "{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}"
SCRIPTS = "{42B5FAAE-6536-11D2-AE5A-0000F87571E3}"
SCR_TOOL_M = "{40B6664F-4972-11D1-A7CA-0000F87571E3}"
SCR_TOOL_U = "{40B66650-4972-11D1-A7CA-0000F87571E3}"
FOLDER_REDIR = "{25537BA6-77A8-11D2-9B6C-0000F8080861}"
FR_TOOL = "{88E729D6-BDC1-11D1-BD2A-00C04FB9603F}"
GPP_GROUPS = "{17D89FEC-5C44-4972-B12D-241CAEF74509}"
GPP_GROUPS_TOOL = "{79F92669-4224-476C-9C5C-6EFB4D87DF4A}"
GPP_DRIVES = "{5794DAFD-BE60-433F-88A2-1A31939AC01F}"
GPP_DRIVES_TOOL = "{2EA1A81B-48E5-45E9-8BB7-A6E3AC170006}"
# GPMC also lists every Preferences tool under the all-zero "CSE"; real
# domains carry this group, so we do too.
GPP_NULL = "{00000000-0000-0000-0000-000000000000}"
SOFTWARE = "{C6DC5466-785A-11D2-84D0-00C04FB169F7}"
SW_TOOL_M = "{942A8E4F-A261-11D1-A760-00C04FB9603F}"
SW_TOOL_U = "{BACF5C8A-A3C7-11D1-A760-00C04FB9603F}"

APPLY_GROUP_POLICY = "edacfd8f-ffb3-11d1-b41d-00a0c968f939"  # control access right
# DACL rights GPMC grants for its delegation levels
EDIT_SETTINGS = "CCDCLCSWRPWPLORC"
EDIT_DELETE_MODIFY = "CCDCLCSWRPWPDTLOCRSDRCWDWO"
READ = "RPLCLORC"

REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 3, 4, 7, 11

# GPMC stamps Preferences items with "yyyy-mm-dd hh:mm:ss"; keep the lab
# deterministic apart from GUIDs and SIDs.
BASE_TIME = time.mktime((2024, 3, 11, 9, 0, 0, 0, 0, -1))


# --- File format helpers -----------------------------------------------------

def utf16(text):
    """UTF-16LE with BOM and CRLF, as secedit/GPMC write .inf/.ini files."""
    return b"\xff\xfe" + text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-16-le")


def inf(sections):
    """GptTmpl.inf from [(section, [lines])]."""
    out = []
    for name, lines in sections:
        out.append("[%s]" % name)
        out.extend(lines)
    return utf16("\n".join(out) + "\n")


def gptmpl_header():
    return [("Unicode", ["Unicode=yes"]),
            ("Version", ['signature="$CHICAGO$"', "Revision=1"])]


def _reg_data(typ, val):
    if typ in (REG_SZ, REG_EXPAND_SZ):
        return (val + "\0").encode("utf-16-le")
    if typ == REG_DWORD:
        return struct.pack("<I", val)
    if typ == REG_QWORD:
        return struct.pack("<Q", val)
    if typ == REG_MULTI_SZ:
        return ("\0".join(val) + "\0\0").encode("utf-16-le")
    return bytes(val)


def preg(entries):
    """Binary registry.pol (PReg v1): [key;value;type;size;data] in UTF-16LE."""
    u = lambda s: s.encode("utf-16-le")
    out = bytearray(b"PReg" + struct.pack("<I", 1))
    for key, name, typ, val in entries:
        data = _reg_data(typ, val)
        out += u("[") + u(key + "\0") + u(";") + u(name + "\0") + u(";")
        out += struct.pack("<I", typ) + u(";") + struct.pack("<I", len(data)) + u(";")
        out += data + u("]")
    return bytes(out)


def gpt_ini(version, display_name=True):
    text = "[General]\r\nVersion=%d\r\n" % version
    if display_name:  # GPMC always writes this placeholder, never the real name
        text += "displayName=New Group Policy Object\r\n"
    return text.encode("ascii")


def ext_names(pairs):
    """gPC*ExtensionNames: [{CSE}{tool}...] groups, CSEs and tools sorted."""
    groups = {}
    for cse, tool in pairs:
        groups.setdefault(cse.upper(), set()).add(tool.upper())
    return "".join("[%s%s]" % (cse, "".join(sorted(groups[cse])))
                   for cse in sorted(groups))


def new_guid(rng=None):
    if rng is None:
        return "{%s}" % str(uuid.uuid4()).upper()
    return "{%s}" % str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


def guid_bytes(guid):
    return uuid.UUID(guid.strip("{}")).bytes_le


def stamp(rng, fmt="%Y-%m-%d %H:%M:%S"):
    return time.strftime(fmt, time.localtime(BASE_TIME + rng.randint(0, 86400 * 400)))


def scripts_ini(sections):
    """scripts.ini / psscripts.ini: opens with a blank line, like Windows."""
    lines = [""]
    for name, items in sections:
        lines.append("[%s]" % name)
        for i, (cmd, params) in enumerate(items):
            lines.append("%dCmdLine=%s" % (i, cmd))
            lines.append("%dParameters=%s" % (i, params))
    return utf16("\n".join(lines) + "\n")


def groups_xml(rng, netbios, groups):
    """GPP Machine/Preferences/Groups/Groups.xml; groups: [(name, sid, [(member, sid)])]."""
    items = []
    for name, gsid, members in groups:
        mem = "".join('<Member name="%s\\%s" action="ADD" sid="%s"/>' % (netbios, m, s)
                      for m, s in members)
        items.append(
            '<Group clsid="{6D4A79E4-529C-4481-ABD0-F5BD7EA93BA7}" name="%s" image="2" '
            'changed="%s" uid="%s"><Properties action="U" newName="" description="" '
            'deleteAllUsers="0" deleteAllGroups="0" removeAccounts="0" groupSid="%s" '
            'groupName="%s"><Members>%s</Members></Properties></Group>'
            % (name, stamp(rng), new_guid(rng), gsid, name, mem))
    return ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<Groups clsid="{3125E937-EB16-4b4c-9934-544FC6D24D26}">%s</Groups>'
            % "".join(items)).encode("utf-8")


def drives_xml(rng, netbios, drives):
    """GPP User/Preferences/Drives/Drives.xml; drives: [(letter, unc, label, group, sid)]."""
    items = []
    for letter, unc, label, group, gsid in drives:
        flt = ""
        if group:  # item-level targeting on a security group: carries its SID
            flt = ('<Filters><FilterGroup bool="AND" not="0" name="%s\\%s" sid="%s" '
                   'userContext="1" primaryGroup="0" localGroup="0"/></Filters>'
                   % (netbios, group, gsid))
        items.append(
            '<Drive clsid="{935D1B74-9CB8-4e3c-9914-7DD559B7A417}" name="%s:" status="%s:" '
            'image="2" changed="%s" uid="%s" bypassErrors="1"><Properties action="U" '
            'thisDrive="NOCHANGE" allDrives="NOCHANGE" userName="" path="%s" label="%s" '
            'persistent="1" useLetter="1" letter="%s"/>%s</Drive>'
            % (letter, letter, stamp(rng), new_guid(rng), unc, label, letter, flt))
    return ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<Drives clsid="{8FDDCC1A-0C3C-43cd-A6B4-71A6DF20DA8C}">%s</Drives>'
            % "".join(items)).encode("utf-8")


def aas_blob(rng, product, product_code, msi):
    """Stand-in for an MSI advertise script: binary header + UTF-16 strings + noise."""
    body = b"".join((s + "\0").encode("utf-16-le") for s in (product, product_code, msi))
    noise = bytes(rng.getrandbits(8) for _ in range(rng.randint(1500, 5000)))
    return struct.pack("<4sIII", b"AAS\x01", 0x0200, len(body), len(noise)) + body + noise


# --- A GPO under construction ------------------------------------------------

class Gpo:
    def __init__(self, name, flags=0, guid=None, existing=False):
        self.name = name
        self.flags = flags
        self.guid = guid or new_guid()
        self.existing = existing       # provisioned default GPO: only update it
        # Samba provisions the default GPOs with MACHINE/USER, GPMC creates Machine/User
        self.half_dir = {"machine": "MACHINE" if existing else "Machine",
                         "user": "USER" if existing else "User"}
        self.files = {}                # relpath -> bytes
        self.dirs = set()              # extra (possibly empty) folders
        self.exts = {"machine": set(), "user": set()}
        self.content = {"machine": False, "user": False}
        self.versions = {"machine": 0, "user": 0}
        self.class_stores = {"machine": [], "user": []}
        self.wmi_filter = None
        self.dacl_add = []             # SDDL ACEs to add to the GPC
        self.dacl_remove = []          # SDDL ACEs to drop from the GPC
        self.links = []                # (container name, option) for the manifest
        self.notes = []
        self.ext_override = None       # provisioned GPOs: extension names as found in AD
        self.untouched = False         # provisioned GPO left exactly as samba made it

    def add(self, half, relpath, data, cse=None, tool=None):
        path = self.half_dir[half] + "/" + relpath
        self.files[path] = data
        self.content[half] = True
        if cse:
            self.exts[half].add((cse, tool))

    def add_dir(self, half, relpath):
        self.dirs.add(self.half_dir[half] + "/" + relpath)

    def finalize_versions(self, rng):
        for half in ("machine", "user"):
            self.versions[half] = rng.randint(1, 24) if self.content[half] else 0

    @property
    def version(self):
        return (self.versions["user"] << 16) | self.versions["machine"]


# --- Domain context ------------------------------------------------------------

class Ctx:
    def __init__(self, dc_dir):
        self.dc_dir = os.path.abspath(dc_dir)
        self.lp = LoadParm()
        self.lp.load(os.path.join(self.dc_dir, "etc", "smb.conf"))
        self.db = SamDB(url=os.path.join(self.lp.get("private dir"), "sam.ldb"),
                        session_info=system_session(), lp=self.lp)
        self.realm = self.lp.get("realm").lower()
        self.netbios = self.lp.get("workgroup").upper()
        self.base = str(self.db.get_default_basedn())
        self.domsid = str(self.db.get_domain_sid())
        self.policies_dn = "CN=Policies,CN=System," + self.base
        sysvol = self.lp.get("path", "sysvol")
        self.policies_dir = os.path.join(sysvol, self.realm, "Policies")
        self.netlogon_dir = os.path.join(sysvol, self.realm, "scripts")
        self.sids = {}
        self.link_plan = []            # (container dn, gpo, option) in link order
        self.netlogon_files = []       # files written into NETLOGON

    def sid(self, name):
        if name not in self.sids:
            res = self.db.search(self.base, ldb.SCOPE_SUBTREE,
                                 "(sAMAccountName=%s)" % ldb.binary_encode(name), ["objectSid"])
            if len(res) != 1:
                raise SystemExit("cannot find %s in %s" % (name, self.realm))
            self.sids[name] = str(ndr_unpack(security.dom_sid, res[0]["objectSid"][0]))
        return self.sids[name]

    def rid(self, rid):
        return "%s-%d" % (self.domsid, rid)

    def fs(self, share_path):
        return "\\\\fs01.%s\\%s" % (self.realm, share_path)

    def sysvol_unc(self, gpo, sub=""):
        return "\\\\%s\\SysVol\\%s\\Policies\\%s%s" % (self.realm, self.realm, gpo.guid, sub)

    def link(self, container_dn, gpo, option=0):
        self.link_plan.append((container_dn, gpo, option))
        gpo.links.append((container_dn.split(",")[0] if container_dn != self.base
                          else self.realm, option))

    def manifest_path(self):
        return os.path.join(self.dc_dir, "seed-manifest.json")

    def load_manifest(self):
        try:
            with open(self.manifest_path()) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"domain": self.realm, "netbios": self.netbios,
                    "domain_sid": self.domsid, "gpos": [], "wmi_filters": []}

    def save_manifest(self, manifest):
        tmp = self.manifest_path() + ".tmp"
        with open(tmp, "w") as f:
            json.dump(manifest, f, indent=1)
        os.replace(tmp, self.manifest_path())


# --- Directory objects ------------------------------------------------------

def add_ou(ctx, rdn_path, description, block_inheritance=False):
    dn = "%s,%s" % (rdn_path, ctx.base)
    msg = {"dn": dn, "objectClass": "organizationalUnit", "description": description}
    if block_inheritance:
        msg["gPOptions"] = "1"
    ctx.db.add(msg)
    return dn


def add_group(ctx, name, ou, description, members=()):
    ctx.db.newgroup(name, groupou=ou, description=description)
    if members:
        ctx.db.add_remove_group_members(name, list(members), add_members_operation=True)


def add_user(ctx, sam, given, surname, ou):
    ctx.db.newuser(sam, PASSWORD, givenname=given, surname=surname, userou=ou)


def add_computer(ctx, name, ou):
    ctx.db.add({"dn": "CN=%s,%s,%s" % (name, ou, ctx.base), "objectClass": "computer",
                "sAMAccountName": name + "$", "userAccountControl": "4096",
                "dNSHostName": "%s.%s" % (name.lower(), ctx.realm)})


def add_wmi_filter(ctx, rng, name, description, queries):
    """msWMI-Som as GPMC writes it; queries: [(namespace, WQL)]."""
    guid = new_guid()
    parm2 = "%d;" % len(queries) + "".join(
        "3;%d;%d;WQL;%s;%s;" % (len(ns), len(q), ns, q) for ns, q in queries)
    when = stamp(rng, "%Y%m%d%H%M%S") + ".000000-000"
    ctx.db.add({"dn": "CN=%s,CN=SOM,CN=WMIPolicy,CN=System,%s" % (guid, ctx.base),
                "objectClass": "msWMI-Som", "msWMI-Name": name, "msWMI-Parm1": description,
                "msWMI-Parm2": parm2, "msWMI-ID": guid,
                "msWMI-Author": "Administrator@%s" % ctx.realm.upper(),
                "msWMI-ChangeDate": when, "msWMI-CreationDate": when,
                "instanceType": "4", "showInAdvancedViewOnly": "TRUE"})
    return {"name": name, "guid": guid, "parm2": parm2}


def edit_dacl(sddl, add=(), remove=()):
    """Drop/prepend ACEs in an SDDL string's DACL (prepending keeps deny first)."""
    head, sep, sacl = sddl.partition("S:")
    for ace in remove:
        if ace not in head:
            raise SystemExit("ACE %s not in %s" % (ace, head))
        head = head.replace(ace, "")
    i = head.index("D:") + 2
    while i < len(head) and head[i] != "(":
        i += 1  # skip DACL flags (P, AI, ...)
    return head[:i] + "".join(add) + head[i:] + sep + sacl


def set_sd(db, dn, domsid, add=(), remove=()):
    res = db.search(dn, ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"])
    sd = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])
    sddl = edit_dacl(sd.as_sddl(security.dom_sid(domsid)), add, remove)
    new = security.descriptor.from_sddl(sddl, security.dom_sid(domsid))
    m = ldb.Message(ldb.Dn(db, dn))
    m["nTSecurityDescriptor"] = ldb.MessageElement(ndr_pack(new), ldb.FLAG_MOD_REPLACE,
                                                   "nTSecurityDescriptor")
    db.modify(m, controls=["sd_flags:1:%d" % security.SECINFO_DACL])


def add_class_store(ctx, gpo_dn, half, packages):
    """CN=Class Store / CN=Packages (both classStore: packageRegistration may
    only live under a classStore) with packageRegistration children."""
    half_dn = "CN=%s,%s" % ("Machine" if half == "machine" else "User", gpo_dn)
    store = "CN=Class Store," + half_dn
    ctx.db.add({"dn": store, "objectClass": "classStore", "appSchemaVersion": "2",
                "versionNumber": str(len(packages))})
    ctx.db.add({"dn": "CN=Packages," + store, "objectClass": "classStore"})
    for pkg in packages:
        attrs = dict(pkg["attrs"])
        attrs["dn"] = "CN=%s,CN=Packages,%s" % (pkg["guid"], store)
        attrs["objectClass"] = "packageRegistration"
        ctx.db.add(attrs)
        if pkg.get("explicit_ace"):  # one package carries its own, non-inherited ACE
            set_sd(ctx.db, attrs["dn"], ctx.domsid, add=[pkg["explicit_ace"]])


def make_package(ctx, rng, gpo, half, product, vendor, version, msi, assigned=True,
                 upgrades=None, ext_priority=(), clsids=(), explicit_ace=None):
    pkg_guid = new_guid(rng)
    product_code = new_guid(rng)
    sub = "\\%s\\Applications\\%s.aas" % (gpo.half_dir[half].capitalize(), pkg_guid)
    blob = aas_blob(rng, product, product_code, msi)
    gpo.add(half, "Applications/%s.aas" % pkg_guid, blob, SOFTWARE,
            SW_TOOL_M if half == "machine" else SW_TOOL_U)
    hi, lo = version
    attrs = {
        "displayName": product, "packageName": product, "vendor": vendor,
        "packageType": "5",  # Windows Installer
        "packageFlags": str(0x10 | (0x800 if assigned else 0x8)),
        "msiScriptName": "A" if assigned else "P",
        "msiScriptPath": ctx.sysvol_unc(gpo, sub), "msiScriptSize": str(len(blob)),
        "msiFileList": ["0:" + msi],
        "productCode": guid_bytes(product_code),
        "versionNumberHi": str(hi), "versionNumberLo": str(lo),
        "revision": "0", "localeID": "0", "installUiLevel": "5",
        "machineArchitecture": "589824",  # x64
        "lastUpdateSequence": stamp(rng),
        "upgradeProductCode": guid_bytes(new_guid(rng)),
    }
    if upgrades:
        attrs["canUpgradeScript"] = ["%s:1" % upgrades]
    if ext_priority:
        attrs["fileExtPriority"] = list(ext_priority)
    if clsids:
        attrs["cOMClassID"] = list(clsids)
    gpo.class_stores[half].append({"guid": pkg_guid, "attrs": attrs,
                                   "explicit_ace": explicit_ace})
    return attrs["msiScriptPath"]


# --- Writing a set of GPOs -----------------------------------------------------

def write_sysvol(ctx, gpos, ntacl_blob=None):
    """Create each GPO's SYSVOL folder. With ntacl_blob, also stamp every
    folder and file with that NT ACL (security.NTACL xattr, version 1).

    New GPO folders are built in DIR/.staging and renamed into Policies:
    after sysvolreset, Policies carries POSIX default ACLs and every file
    created below it inherits them, which makes writing several times slower."""
    staging = os.path.join(ctx.dc_dir, ".staging")
    os.makedirs(staging, exist_ok=True)
    for g in gpos:
        if g.untouched:
            continue
        final = os.path.join(ctx.policies_dir, g.guid)
        root = final if g.existing else os.path.join(staging, g.guid)
        made = [root] + [os.path.join(root, g.half_dir[h]) for h in ("machine", "user")]
        made += [os.path.join(root, d) for d in g.dirs]
        made += [os.path.dirname(os.path.join(root, p)) for p in g.files]
        for d in made:
            os.makedirs(d, exist_ok=True)
        files = dict(g.files)
        files["GPT.INI"] = gpt_ini(g.version, display_name=not g.existing)
        for rel, data in files.items():
            with open(os.path.join(root, rel), "wb") as f:
                f.write(data)
        if ntacl_blob is not None:
            for dirpath, dirnames, filenames in os.walk(root):
                for n in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
                    os.setxattr(n, "security.NTACL", ntacl_blob)
        if root != final:
            os.rename(root, final)


def apply_sysvol_acls(ctx, gpos, netlogon_files):
    """What `samba-tool ntacl sysvolreset` does for these paths, in-process
    (~2 ms per path instead of ~60): each GPO folder gets the file-system
    form of its GPC's security descriptor, NETLOGON files the SYSVOL ACL.
    Must run inside the DC's /run/samba namespace (scripts/lab does that);
    `samba-tool ntacl sysvolcheck` verifies the result afterwards."""
    from samba.auth_util import system_session_unix
    from samba.ntacls import setntacl
    from samba.provision import SYSVOL_ACL, set_dir_acl
    from samba.samba3 import param as s3param, passdb
    s3conf = s3param.get_context()
    s3conf.load(ctx.lp.configfile)
    s3conf.set("passdb backend", "samba_dsdb:%s" % ctx.db.url)
    passdb.reload_static_pdb()
    pdb = passdb.PDB(s3conf.get("passdb backend"))
    for g in gpos:
        res = ctx.db.search(gpo_dn(ctx, g), ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"])
        ds_sddl = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0]).as_sddl()
        set_dir_acl(os.path.join(ctx.policies_dir, g.guid),
                    dsacl2fsacl(ds_sddl, security.dom_sid(ctx.domsid)),
                    ctx.lp, ctx.domsid, False, pdb)
    for path in netlogon_files:
        setntacl(ctx.lp, path, SYSVOL_ACL, ctx.domsid, system_session_unix(), use_ntvfs=False,
                 skip_invalid_chown=True, passdb=pdb, service="sysvol")


def gpo_dn(ctx, g):
    return "CN=%s,%s" % (g.guid, ctx.policies_dn)


def write_directory(ctx, gpos):
    """GPCs (+ CN=User/CN=Machine, class stores, ACL edits) in the current transaction."""
    for g in gpos:
        dn = gpo_dn(ctx, g)
        mext, uext = ext_names(g.exts["machine"]), ext_names(g.exts["user"])
        if g.existing:
            # keep the provisioned (Windows default) extension names, record them
            res = ctx.db.search(dn, ldb.SCOPE_BASE,
                                attrs=["gPCMachineExtensionNames", "gPCUserExtensionNames"])
            g.ext_override = {h: str(res[0].get(a, [""])[0]) for h, a in
                              (("machine", "gPCMachineExtensionNames"), ("user", "gPCUserExtensionNames"))}
            if not g.untouched:
                m = ldb.Message(ldb.Dn(ctx.db, dn))
                m["versionNumber"] = ldb.MessageElement(str(g.version), ldb.FLAG_MOD_REPLACE,
                                                        "versionNumber")
                ctx.db.modify(m)
            continue
        msg = {"dn": dn, "objectClass": "groupPolicyContainer", "displayName": g.name,
               "gPCFileSysPath": "\\\\%s\\SysVol\\%s\\Policies\\%s" % (ctx.realm, ctx.realm, g.guid),
               "versionNumber": str(g.version), "flags": str(g.flags),
               "gPCFunctionalityVersion": "2"}
        if mext:
            msg["gPCMachineExtensionNames"] = mext
        if uext:
            msg["gPCUserExtensionNames"] = uext
        if g.wmi_filter:
            msg["gPCWQLFilter"] = "[%s;%s;0]" % (ctx.realm, g.wmi_filter["guid"])
        ctx.db.add(msg)
        ctx.db.add({"dn": "CN=User," + dn, "objectClass": "container"})
        ctx.db.add({"dn": "CN=Machine," + dn, "objectClass": "container"})
        for half in ("machine", "user"):
            if g.class_stores[half]:
                add_class_store(ctx, dn, half, g.class_stores[half])
        if g.dacl_add or g.dacl_remove:
            set_sd(ctx.db, dn, ctx.domsid, g.dacl_add, g.dacl_remove)


def write_links(ctx):
    """Append planned links to each container's gPLink, in plan order."""
    by_container = {}
    for container, g, option in ctx.link_plan:
        by_container.setdefault(container, []).append((g, option))
    for container, links in by_container.items():
        res = ctx.db.search(container, ldb.SCOPE_BASE, attrs=["gPLink"])
        current = str(res[0]["gPLink"][0]) if "gPLink" in res[0] else ""
        current += "".join("[LDAP://cn=%s,cn=policies,cn=system,%s;%d]" % (g.guid, ctx.base, o)
                           for g, o in links)
        m = ldb.Message(ldb.Dn(ctx.db, container))
        m["gPLink"] = ldb.MessageElement(current, ldb.FLAG_MOD_REPLACE, "gPLink")
        ctx.db.modify(m)


def manifest_entry(g, bulk=False):
    files = sorted(["GPT.INI"] + list(g.files))
    exts = g.ext_override or {h: ext_names(g.exts[h]) for h in ("machine", "user")}
    return {"name": g.name, "guid": g.guid, "bulk": bulk, "flags": g.flags,
            "version": g.version, "machine_version": g.versions["machine"],
            "user_version": g.versions["user"],
            "machine_extensions": exts["machine"], "user_extensions": exts["user"],
            "files": files, "wmi_filter": g.wmi_filter["name"] if g.wmi_filter else None,
            "links": [{"container": c, "option": o} for c, o in g.links],
            "packages": sum(len(v) for v in g.class_stores.values()),
            "notes": g.notes}


# --- Content shared by both realistic sets ------------------------------------

MACHINE_POLICIES = [
    ("Software\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU", "NoAutoUpdate", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU", "AUOptions", REG_DWORD, 4),
    ("Software\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU", "ScheduledInstallDay", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU", "ScheduledInstallTime", REG_DWORD, 3),
    ("Software\\Policies\\Microsoft\\Windows Defender", "DisableAntiSpyware", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows Defender\\Real-Time Protection", "DisableRealtimeMonitoring", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows NT\\Terminal Services", "fDenyTSConnections", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows NT\\Terminal Services", "UserAuthentication", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows NT\\Terminal Services", "MinEncryptionLevel", REG_DWORD, 3),
    ("Software\\Policies\\Microsoft\\WindowsFirewall\\DomainProfile", "EnableFirewall", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\WindowsFirewall\\PrivateProfile", "EnableFirewall", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows\\System", "EnableSmartScreen", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows\\System", "ShellSmartScreenLevel", REG_SZ, "Block"),
    ("Software\\Policies\\Microsoft\\Windows\\EventLog\\Security", "MaxSize", REG_DWORD, 196608),
    ("Software\\Policies\\Microsoft\\Windows\\EventLog\\Application", "MaxSize", REG_DWORD, 32768),
    ("Software\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions", "DenyRemovableDevices", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\FVE", "EncryptionMethodWithXtsOs", REG_DWORD, 7),
    ("Software\\Policies\\Microsoft\\Windows NT\\DNSClient", "EnableMulticast", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows\\LanmanWorkstation", "AllowInsecureGuestAuth", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows\\Explorer", "NoAutoplayfornonVolume", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows\\Installer", "AlwaysInstallElevated", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows\\PowerShell\\ScriptBlockLogging", "EnableScriptBlockLogging", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows\\PowerShell", "ExecutionPolicy", REG_SZ, "RemoteSigned"),
    ("Software\\Policies\\Microsoft\\Windows\\WinRM\\Service", "AllowBasic", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows\\CredentialsDelegation", "AllowProtectedCreds", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows\\Windows Search", "AllowCortana", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows\\DataCollection", "AllowTelemetry", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows NT\\Printers", "DisableWebPnPDownload", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows\\Network Connections", "NC_ShowSharedAccessUI", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\SystemCertificates\\AuthRoot", "DisableRootAutoUpdate", REG_DWORD, 0),
    ("Software\\Policies\\Microsoft\\Windows\\NetworkProvider\\HardenedPaths", "\\\\*\\SYSVOL", REG_SZ,
     "RequireMutualAuthentication=1, RequireIntegrity=1"),
    ("Software\\Policies\\Microsoft\\Windows\\NetworkProvider\\HardenedPaths", "\\\\*\\NETLOGON", REG_SZ,
     "RequireMutualAuthentication=1, RequireIntegrity=1"),
    ("Software\\Policies\\Microsoft\\Windows\\Safer\\CodeIdentifiers", "ExecutableTypes", REG_MULTI_SZ,
     ["ADE", "ADP", "BAS", "BAT", "CHM", "CMD", "COM", "CPL", "EXE", "HTA", "MSI", "PS1", "VBS"]),
    ("Software\\Policies\\Microsoft\\Windows\\Personalization", "LockScreenImage", REG_EXPAND_SZ,
     "%SystemRoot%\\Web\\Screen\\corp-lock.jpg"),
    ("Software\\Policies\\Microsoft\\Windows\\Group Policy\\{35378EAC-683F-11D2-A89A-00C04FBBCFA2}",
     "NoGPOListChanges", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows\\WindowsUpdate", "DeferQualityUpdatesPeriodInDays", REG_QWORD, 7),
    ("Software\\Policies\\Microsoft\\Windows\\WindowsUpdate", "**del.WUServer", REG_SZ, " "),
]

USER_POLICIES = [
    ("Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer", "NoControlPanel", REG_DWORD, 1),
    ("Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer", "NoDriveTypeAutoRun", REG_DWORD, 255),
    ("Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer", "NoRun", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop", "ScreenSaveActive", REG_SZ, "1"),
    ("Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop", "ScreenSaveTimeOut", REG_SZ, "900"),
    ("Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop", "ScreenSaverIsSecure", REG_SZ, "1"),
    ("Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop", "SCRNSAVE.EXE", REG_SZ, "scrnsave.scr"),
    ("Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System", "DisableTaskMgr", REG_DWORD, 1),
    ("Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System", "WallpaperStyle", REG_SZ, "4"),
    ("Software\\Policies\\Microsoft\\Office\\16.0\\Outlook\\Options\\Mail", "BlockExtContent", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Office\\16.0\\Common\\Security", "DisableAllActiveX", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Windows\\Explorer", "DisableNotificationCenter", REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\Edge", "RestoreOnStartup", REG_DWORD, 4),
    ("Software\\Policies\\Microsoft\\Edge\\RestoreOnStartupURLs", "1", REG_SZ, "https://intranet/"),
    ("Software\\Policies\\Google\\Chrome", "PasswordManagerEnabled", REG_DWORD, 0),
    ("Software\\Policies\\Google\\Chrome\\ExtensionInstallForcelist", "1", REG_SZ,
     "cjpalhdlnbpafiamejdnhcphjbkeiagm;https://clients2.google.com/service/update2/crx"),
    ("Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\PushNotifications", "NoToastApplicationNotification",
     REG_DWORD, 1),
    ("Software\\Policies\\Microsoft\\OneDrive", "DisablePersonalSync", REG_DWORD, 1),
]


def pick(rng, pool, lo, hi):
    return rng.sample(pool, rng.randint(lo, min(hi, len(pool))))


def registry_values_section(ctx, extra=()):
    return ("Registry Values", [
        "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\LmCompatibilityLevel=4,5",
        "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\NoLMHash=4,1",
        "MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\EnableLUA=4,1",
        "MACHINE\\System\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters\\RequireSecuritySignature=4,1",
        "MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\LegalNoticeCaption=1,\"%s\"" % ctx.netbios,
        "MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\LegalNoticeText=7,"
        "Authorised use only.,Activity on this system is logged.",
    ] + list(extra))


# --- The realistic sets ----------------------------------------------------------

def write_netlogon(ctx, name, data):
    path = os.path.join(ctx.netlogon_dir, name)
    with open(path, "wb") as f:
        f.write(data)
    ctx.netlogon_files.append(path)


def default_gpos(ctx):
    """The two GPOs provisioning created, with the links it made."""
    ddp = Gpo("Default Domain Policy", guid="{31B2F340-016D-11D2-945F-00C04FB984F9}", existing=True)
    ddp.links.append((ctx.realm, 0))
    ddcp = Gpo("Default Domain Controllers Policy", guid="{6AC1786C-016F-11D2-945F-00C04FB984F9}", existing=True)
    ddcp.links.append(("OU=Domain Controllers", 0))
    return ddp, ddcp


def seed_corp(ctx, rng):
    base, r = ctx.base, ctx.realm
    ou = {
        "staff": add_ou(ctx, "OU=Staff", "All employees"),
        "finance": add_ou(ctx, "OU=Finance,OU=Staff", "Finance department"),
        "workstations": add_ou(ctx, "OU=Workstations", "Corporate desktops"),
        "laptops": add_ou(ctx, "OU=Laptops,OU=Workstations", "Corporate laptops"),
        "servers": add_ou(ctx, "OU=Servers", "Member servers (blocks inheritance)",
                          block_inheritance=True),
        "dcs": "OU=Domain Controllers," + base,
    }
    add_ou(ctx, "OU=Groups", "Security groups")
    for sam, given, sn, where in [("alice.finance", "Alice", "Finance", "OU=Finance,OU=Staff"),
                                  ("bob.helpdesk", "Bob", "Helpdesk", "OU=Staff"),
                                  ("carol.editor", "Carol", "Editor", "OU=Staff"),
                                  ("dave.admin", "Dave", "Admin", "OU=Staff"),
                                  ("erin.staff", "Erin", "Staff", "OU=Staff")]:
        add_user(ctx, sam, given, sn, where)
    add_group(ctx, "GPO Editors", "OU=Groups", "May edit delegated GPOs", ["carol.editor"])
    add_group(ctx, "Helpdesk", "OU=Groups", "First-line support", ["bob.helpdesk"])
    add_group(ctx, "Finance Users", "OU=Finance,OU=Staff", "Finance staff", ["alice.finance"])
    add_group(ctx, "Workstation Admins", "OU=Groups", "Local admins on workstations", ["dave.admin"])
    for name, where in [("WS0001", "OU=Workstations"), ("WS0002", "OU=Workstations"),
                        ("LT0001", "OU=Laptops,OU=Workstations"), ("FS01", "OU=Servers")]:
        add_computer(ctx, name, where)

    helpdesk, editors = ctx.sid("Helpdesk"), ctx.sid("GPO Editors")
    finance, wsadmins = ctx.sid("Finance Users"), ctx.sid("Workstation Admins")
    nb = ctx.netbios

    wmi_laptops = add_wmi_filter(ctx, rng, "Laptops", "Portable computers (PCSystemType = 2)",
                                 [("root\\CIMv2", "SELECT * FROM Win32_ComputerSystem WHERE PCSystemType = 2")])
    wmi_win11 = add_wmi_filter(ctx, rng, "Windows 11 Workstations", "Client OS, build 22000 or later",
                               [("root\\CIMv2", "SELECT * FROM Win32_OperatingSystem WHERE Version LIKE \"10.0.2%\" AND ProductType = \"1\""),
                                ("root\\CIMv2", "SELECT * FROM Win32_ComputerSystem WHERE PartOfDomain = TRUE")])
    gpos = []

    # Provisioned defaults: keep them, give them the content Windows has.
    ddp, ddcp = default_gpos(ctx)
    ddp.add("machine", "Microsoft/Windows NT/SecEdit/GptTmpl.inf", inf([
        ("Unicode", ["Unicode=yes"]),
        ("System Access", ["MinimumPasswordAge = 1", "MaximumPasswordAge = 42", "MinimumPasswordLength = 12",
                           "PasswordComplexity = 1", "PasswordHistorySize = 24", "LockoutBadCount = 10",
                           "ResetLockoutCount = 15", "LockoutDuration = 15", "RequireLogonToChangePassword = 0",
                           "ForceLogoffWhenHourExpire = 0", "ClearTextPassword = 0", "LSAAnonymousNameLookup = 0"]),
        ("Kerberos Policy", ["MaxTicketAge = 10", "MaxRenewAge = 7", "MaxServiceAge = 600",
                             "MaxClockSkew = 5", "TicketValidateClient = 1"]),
        ("Version", ['signature="$CHICAGO$"', "Revision=1"]),
        ("Registry Values", ["MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\NoLMHash=4,1"]),
    ]))  # extension names stay as provisioned (the Windows defaults)
    ddp.notes.append("provisioned; GptTmpl.inf with password/Kerberos policy; MACHINE/USER upper case")
    ddcp.add("machine", "Microsoft/Windows NT/SecEdit/GptTmpl.inf", inf(gptmpl_header() + [
        ("Privilege Rights", [
            "SeAssignPrimaryTokenPrivilege = *S-1-5-19,*S-1-5-20",
            "SeAuditPrivilege = *S-1-5-19,*S-1-5-20",
            "SeBackupPrivilege = *S-1-5-32-549,*S-1-5-32-551,*S-1-5-32-544",
            "SeBatchLogonRight = *S-1-5-32-559,*S-1-5-32-551,*S-1-5-32-544",
            "SeInteractiveLogonRight = *S-1-5-9,*S-1-5-32-550,*S-1-5-32-549,*S-1-5-32-548,*S-1-5-32-551,*S-1-5-32-544",
            "SeMachineAccountPrivilege = *S-1-5-11",
            "SeNetworkLogonRight = *S-1-5-32-554,*S-1-5-9,*S-1-5-11,*S-1-5-32-544,*S-1-1-0",
            "SeRemoteInteractiveLogonRight = *S-1-5-32-544,*%s" % helpdesk,
            "SeEnableDelegationPrivilege = *S-1-5-32-544",
        ]),
        ("Registry Values", [
            "MACHINE\\System\\CurrentControlSet\\Services\\NTDS\\Parameters\\LDAPServerIntegrity=4,2",
            "MACHINE\\System\\CurrentControlSet\\Services\\Netlogon\\Parameters\\RequireSignOrSeal=4,1",
            "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters\\RequireSecuritySignature=4,1",
        ]),
    ]))
    ddcp.notes.append("provisioned; GptTmpl.inf user rights incl. Helpdesk SID")
    gpos += [ddp, ddcp]

    # 1. Workstation Baseline: every GptTmpl.inf section, both registry.pol files
    g = Gpo("Workstation Baseline")
    g.add("machine", "Microsoft/Windows NT/SecEdit/GptTmpl.inf", inf(gptmpl_header() + [
        ("System Access", ["EnableGuestAccount = 0", "EnableAdminAccount = 1",
                           'NewGuestName = "CorpGuest"']),
        ("Event Audit", ["AuditSystemEvents = 3", "AuditLogonEvents = 3", "AuditPolicyChange = 1",
                         "AuditAccountManage = 3", "AuditAccountLogon = 3"]),
        registry_values_section(ctx),
        ("Privilege Rights", [
            "SeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-555,*%s" % helpdesk,
            "SeInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-545,*%s" % helpdesk,
            "SeDenyNetworkLogonRight = *S-1-5-32-546,*%s" % ctx.rid(501),
            "SeDenyRemoteInteractiveLogonRight = *%s" % ctx.rid(501),
            "SeBackupPrivilege = *S-1-5-32-544,*S-1-5-32-551",
            "SeShutdownPrivilege = *S-1-5-32-544,*S-1-5-32-545",
            "SeDebugPrivilege = *S-1-5-32-544",
        ]),
        ("Group Membership", [
            "*S-1-5-32-544__Memberof =",
            "*S-1-5-32-544__Members = *%s,*%s" % (ctx.rid(512), wsadmins),
            "*%s__Memberof = *S-1-5-32-555" % helpdesk,
            "*%s__Members =" % helpdesk,
        ]),
        ("Service General Setting", [
            '"RemoteRegistry",4,""',
            '"Spooler",2,"D:AR(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)'
            '(A;;CCLCSWLOCRRC;;;IU)(A;;CCLCSWRPWPDTLOCRRC;;;%s)"' % helpdesk,
            '"WinRM",2,"D:AR(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWRPWPDTLOCRRC;;;%s)"' % wsadmins,
        ]),
        ("File Security", [
            '"%%SystemRoot%%\\System32\\drivers\\etc",2,"D:PAR(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)'
            '(A;OICI;0x1200a9;;;BU)(A;OICI;0x1301bf;;;%s)"' % helpdesk,
            '"%%ProgramFiles%%\\Corp\\Agent",0,"D:PAR(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)'
            '(A;OICI;0x1200a9;;;%s)"' % wsadmins,
        ]),
        ("Registry Keys", [
            '"MACHINE\\SOFTWARE\\Corp\\Agent",0,"D:PAR(A;CI;KA;;;BA)(A;CI;KA;;;SY)(A;CI;KR;;;%s)"' % helpdesk,
            '"MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Spooler",2,"D:PAR(A;CI;KA;;;BA)(A;CI;KA;;;SY)'
            '(A;CI;KR;;;BU)(A;CI;KR;;;%s)"' % wsadmins,
        ]),
    ]), SECURITY, SEC_TOOL)
    g.add("machine", "registry.pol", preg(MACHINE_POLICIES[:22]), REGISTRY, REG_TOOL_M)
    g.add("user", "registry.pol", preg(USER_POLICIES[:10]), REGISTRY, REG_TOOL_U)
    # exemption: deny Apply Group Policy to Workstation Admins (deny ACE first)
    g.dacl_add = ["(OD;CI;CR;%s;;%s)" % (APPLY_GROUP_POLICY, wsadmins),
                  "(A;CI;%s;;;%s)" % (EDIT_DELETE_MODIFY, editors)]
    g.notes.append("all GptTmpl.inf sections with domain SIDs; GPO Editors full edit; deny Apply to Workstation Admins")
    gpos.append(g)
    ctx.link(ou["workstations"], g, 0)

    # 2. Server Hardening: machine only; link enforced+disabled is option 3
    g = Gpo("Server Hardening")
    g.add("machine", "Microsoft/Windows NT/SecEdit/GptTmpl.inf", inf(gptmpl_header() + [
        ("Privilege Rights", [
            "SeDenyInteractiveLogonRight = *S-1-5-32-546,*%s" % ctx.rid(513),
            "SeRemoteInteractiveLogonRight = *S-1-5-32-544,*%s" % helpdesk,
            "SeTakeOwnershipPrivilege = *S-1-5-32-544",
        ]),
        ("Service General Setting", [
            '"Spooler",4,""', '"XblGameSave",4,""', '"XboxNetApiSvc",4,""',
            '"W3SVC",3,"D:AR(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWRPLORC;;;%s)"' % helpdesk,
        ]),
        registry_values_section(ctx, [
            "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters\\RequireSecuritySignature=4,1",
            "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters\\SMB1=4,0",
        ]),
        ("Event Audit", ["AuditSystemEvents = 3", "AuditLogonEvents = 3", "AuditObjectAccess = 2",
                         "AuditPrivilegeUse = 2", "AuditProcessTracking = 0"]),
    ]), SECURITY, SEC_TOOL)
    g.add("machine", "registry.pol", preg(MACHINE_POLICIES[6:10] + MACHINE_POLICIES[21:]), REGISTRY, REG_TOOL_M)
    g.dacl_add = ["(A;CI;%s;;;%s)" % (EDIT_DELETE_MODIFY, editors),
                  "(A;CI;%s;;;%s)" % (READ, helpdesk)]
    g.notes.append("machine half only; GPO Editors full edit, Helpdesk read")
    gpos.append(g)
    ctx.link(ou["servers"], g, 2)
    ctx.link(ou["dcs"], g, 3)

    # 3. Finance Drive Maps: GPP drives + security filtering
    g = Gpo("Finance Drive Maps")
    g.add("user", "Preferences/Drives/Drives.xml", drives_xml(rng, nb, [
        ("F", ctx.fs("finance"), "Finance", "Finance Users", finance),
        ("R", ctx.fs("finance\\reports"), "Reports", "Finance Users", finance),
        ("H", ctx.fs("home\\%USERNAME%"), "Home", None, None),
    ]), GPP_DRIVES, GPP_DRIVES_TOOL)
    g.exts["user"].add((GPP_NULL, GPP_DRIVES_TOOL))
    # security filtering: Authenticated Users keep Read (MS16-072) but lose Apply
    g.dacl_remove = ["(OA;CI;CR;%s;;AU)" % APPLY_GROUP_POLICY]
    g.dacl_add = ["(OA;CI;CR;%s;;%s)" % (APPLY_GROUP_POLICY, finance),
                  "(A;CI;%s;;;%s)" % (READ, finance)]
    g.notes.append("GPP Drives with UNC + group SID targeting; security filtered to Finance Users")
    gpos.append(g)
    ctx.link(ou["finance"], g, 2)

    # 4. Folder Redirection - Staff
    g = Gpo("Folder Redirection - Staff")
    docs, desktop = "{FDD39AD0-238F-46AF-ADB4-6C85480369C7}", "{B4BFCC3A-DB2C-424C-B029-7FE99A87C641}"
    g.add("user", "Documents & Settings/fdeploy.ini", utf16("\n".join([
        "[FolderStatus]", "My Documents=11", "My Pictures=2", "Desktop=11",
        "[My Documents]",
        "s-1-1-0=%s" % ctx.fs("home\\%USERNAME%\\My Documents"),
        "%s=%s" % (finance, ctx.fs("finance-home\\%USERNAME%\\My Documents")),
        "[My Pictures]", "[Desktop]",
        "s-1-1-0=%s" % ctx.fs("home\\%USERNAME%\\Desktop"), ""])), FOLDER_REDIR, FR_TOOL)
    g.add("user", "Documents & Settings/fdeploy1.ini", utf16("\n".join([
        "", "     ", "[version]", "version=100", "[Folder_Redirection]",
        "%s=%s;%s;" % (docs, finance, ctx.rid(513)),
        "%s=s-1-1-0;" % desktop,
        "[%s_%s]" % (docs, finance), "Flags=1021",
        "FullPath=%s" % ctx.fs("finance-home\\%USERNAME%\\Documents"),
        "[%s_%s]" % (docs, ctx.rid(513)), "Flags=1021",
        "FullPath=%s" % ctx.fs("home\\%USERNAME%\\Documents"),
        "[%s_s-1-1-0]" % desktop, "Flags=1031",
        "FullPath=%s" % ctx.fs("home\\%USERNAME%\\Desktop"), ""])))
    g.notes.append("fdeploy.ini + fdeploy1.ini (UTF-16LE) with UNC targets and SIDs")
    gpos.append(g)
    ctx.link(ou["staff"], g, 0)

    # 5. Logon Scripts: in-GPO and UNC scripts, both halves; linked in 3 places
    g = Gpo("Logon Scripts")
    g.add("machine", "Scripts/scripts.ini", scripts_ini([
        ("Startup", [("setup.cmd", "/quiet"),
                     ("\\\\%s\\NETLOGON\\inventory.cmd" % r, "")])]), SCRIPTS, SCR_TOOL_M)
    g.add("machine", "Scripts/Startup/setup.cmd",
          b"@echo off\r\nrem Corp workstation setup\r\nw32tm /resync /nowait\r\n"
          b"gpupdate /target:computer /wait:0\r\nexit /b 0\r\n")
    g.add_dir("machine", "Scripts/Shutdown")
    g.add("user", "Scripts/scripts.ini", scripts_ini([
        ("Logon", [("\\\\%s\\NETLOGON\\logon.cmd" % r, ""), ("map-printers.cmd", "/site HQ")]),
        ("Logoff", [("\\\\%s\\NETLOGON\\logoff.cmd" % r, "")])]), SCRIPTS, SCR_TOOL_U)
    g.add("user", "Scripts/psscripts.ini", scripts_ini([
        ("Logon", [("Set-Wallpaper.ps1", "-Quiet"),
                   ("\\\\%s\\NETLOGON\\Register-Printers.ps1" % r, "-Site HQ")])]))
    g.add("user", "Scripts/Logon/map-printers.cmd",
          b"@echo off\r\nrundll32 printui.dll,PrintUIEntry /in /n \\\\print01\\HQ-Floor1\r\n")
    g.add("user", "Scripts/Logon/Set-Wallpaper.ps1",
          b"param([switch]$Quiet)\r\nSet-ItemProperty 'HKCU:\\Control Panel\\Desktop' Wallpaper "
          b"'\\\\fs01\\wallpaper\\corp.jpg'\r\n")
    g.add_dir("user", "Scripts/Logoff")
    g.notes.append("scripts.ini/psscripts.ini, in-GPO + NETLOGON scripts; linked in 3 places")
    gpos.append(g)
    for where in (base, ou["staff"], ou["workstations"]):
        ctx.link(where, g, 0)

    # 6. Software - 7-Zip: class stores under CN=Machine and CN=User
    g = Gpo("Software - 7-Zip")
    old = make_package(ctx, rng, g, "machine", "7-Zip 19.00 (x64 edition)", "Igor Pavlov", (19, 0),
                       ctx.fs("software\\7zip\\7z1900-x64.msi"), ext_priority=(".7z:0",))
    make_package(ctx, rng, g, "machine", "7-Zip 23.01 (x64 edition)", "Igor Pavlov", (23, 1),
                 ctx.fs("software\\7zip\\7z2301-x64.msi"), upgrades=old,
                 ext_priority=(".7z:0", ".zip:1"),
                 clsids=("{23170F69-40C1-278A-1000-000100020000}:4",))
    make_package(ctx, rng, g, "machine", "Notepad++ 8.6.4 (x64)", "Notepad++ Team", (8, 6),
                 ctx.fs("software\\npp\\npp.8.6.4.Installer.x64.msi"),
                 explicit_ace="(A;;RPWPLCLORC;;;%s)" % helpdesk)
    make_package(ctx, rng, g, "user", "Adobe Acrobat Reader DC", "Adobe Systems", (23, 8),
                 ctx.fs("software\\adobe\\AcroRead.msi"), assigned=False, ext_priority=(".pdf:0",))
    g.notes.append("Class Store: 3 machine packages (one upgrades another, one with explicit ACE), 1 published user package, .aas files")
    gpos.append(g)
    ctx.link(ou["workstations"], g, 0)

    # 7. Local Admins via GPP: Groups.xml with member SIDs
    g = Gpo("Local Admins via GPP")
    g.add("machine", "Preferences/Groups/Groups.xml", groups_xml(rng, nb, [
        ("Administrators (built-in)", "S-1-5-32-544",
         [("Workstation Admins", wsadmins), ("Helpdesk", helpdesk)]),
        ("Remote Desktop Users (built-in)", "S-1-5-32-555", [("Helpdesk", helpdesk)]),
    ]), GPP_GROUPS, GPP_GROUPS_TOOL)
    g.exts["machine"].add((GPP_NULL, GPP_GROUPS_TOOL))
    g.notes.append("GPP Groups.xml with member names + SIDs")
    gpos.append(g)
    ctx.link(ou["workstations"], g, 0)
    ctx.link(ou["servers"], g, 1)

    # 8-10. Disabled halves; both halves carry content so the flag matters
    for name, flags in (("Disabled User Half", 1), ("Disabled Machine Half", 2), ("Fully Disabled", 3)):
        g = Gpo(name, flags=flags)
        g.add("machine", "registry.pol", preg(pick(rng, MACHINE_POLICIES, 3, 8)), REGISTRY, REG_TOOL_M)
        g.add("user", "registry.pol", preg(pick(rng, USER_POLICIES, 3, 8)), REGISTRY, REG_TOOL_U)
        g.notes.append("flags=%d, both halves have registry.pol" % flags)
        gpos.append(g)
    ctx.link(ou["staff"], gpos[-3], 0)
    ctx.link(ou["workstations"], gpos[-2], 0)
    ctx.link(base, gpos[-1], 1)

    # 11. WMI Filtered - Laptops
    g = Gpo("WMI Filtered - Laptops")
    g.add("machine", "registry.pol", preg([
        ("Software\\Policies\\Microsoft\\Power\\PowerSettings\\3C0BC021-C8A8-4E07-A973-6B14CBCB2B7E",
         "DCSettingIndex", REG_DWORD, 600),
        ("Software\\Policies\\Microsoft\\Power\\PowerSettings\\29F6C1DB-86DA-48C5-9FDB-F2B67B1F44DA",
         "DCSettingIndex", REG_DWORD, 1800),
        ("Software\\Policies\\Microsoft\\FVE", "EncryptionMethodWithXtsOs", REG_DWORD, 7),
        ("Software\\Policies\\Microsoft\\FVE", "UseTPMPIN", REG_DWORD, 1),
    ]), REGISTRY, REG_TOOL_M)
    g.wmi_filter = wmi_laptops
    g.notes.append("gPCWQLFilter -> Laptops")
    gpos.append(g)
    ctx.link(ou["laptops"], g, 0)

    # 12. Delegated to Helpdesk
    g = Gpo("Delegated to Helpdesk")
    g.add("user", "registry.pol", preg(USER_POLICIES[10:]), REGISTRY, REG_TOOL_U)
    g.wmi_filter = wmi_win11
    g.dacl_add = ["(A;CI;%s;;;%s)" % (EDIT_SETTINGS, helpdesk),
                  "(A;CI;%s;;;%s)" % (EDIT_DELETE_MODIFY, editors)]
    g.notes.append("user half only; Helpdesk edit settings, GPO Editors full edit; WMI filter Windows 11")
    gpos.append(g)
    ctx.link(ou["staff"], g, 0)

    # 13. Unlinked, and 14. never edited (version 0, no extension names)
    g = Gpo("Unlinked - Pilot Settings")
    g.add("machine", "registry.pol", preg(pick(rng, MACHINE_POLICIES, 4, 6)), REGISTRY, REG_TOOL_M)
    g.notes.append("linked nowhere")
    gpos.append(g)
    g = Gpo("New Group Policy Object")
    g.notes.append("never edited: version 0, only GPT.INI and empty Machine/User")
    gpos.append(g)
    ctx.link(ou["servers"], g, 0)

    # NETLOGON scripts referenced by UNC above
    for name in ("logon.cmd", "logoff.cmd", "inventory.cmd"):
        write_netlogon(ctx, name, b"@echo off\r\nrem %s for %s\r\n" % (name.encode(), r.encode()))
    return gpos, [wmi_laptops, wmi_win11]


def seed_branch(ctx, rng):
    base, r = ctx.base, ctx.realm
    ou = {
        "staff": add_ou(ctx, "OU=Branch Staff", "Branch office staff"),
        "ws": add_ou(ctx, "OU=Branch Workstations", "Branch desktops"),
        "kiosks": add_ou(ctx, "OU=Kiosks,OU=Branch Workstations", "Public kiosks (blocks inheritance)",
                         block_inheritance=True),
    }
    for sam, given, sn in [("frank.branch", "Frank", "Branch"), ("grace.support", "Grace", "Support")]:
        add_user(ctx, sam, given, sn, "OU=Branch Staff")
    add_group(ctx, "Branch Helpdesk", "OU=Branch Staff", "Branch support", ["grace.support"])
    add_group(ctx, "Branch Users", "OU=Branch Staff", "Everyone at the branch", ["frank.branch", "grace.support"])
    add_group(ctx, "Kiosk Operators", "OU=Branch Staff", "May service kiosks")
    add_computer(ctx, "BR-WS01", "OU=Branch Workstations")
    add_computer(ctx, "KIOSK01", "OU=Kiosks,OU=Branch Workstations")
    bhelp, busers, kiosk = ctx.sid("Branch Helpdesk"), ctx.sid("Branch Users"), ctx.sid("Kiosk Operators")
    nb = ctx.netbios
    gpos = list(default_gpos(ctx))
    for g in gpos:  # as provisioned: version 0, GPT.INI without a trailing newline
        g.untouched = True
        g.notes.append("provisioned, left as samba created it")
    wmi_kiosk = add_wmi_filter(ctx, rng, "Kiosk Devices", "Machines named KIOSK*",
                               [("root\\CIMv2", "SELECT * FROM Win32_ComputerSystem WHERE Name LIKE \"KIOSK%\"")])

    g = Gpo("Branch Workstation Baseline")
    g.add("machine", "Microsoft/Windows NT/SecEdit/GptTmpl.inf", inf(gptmpl_header() + [
        ("Privilege Rights", [
            "SeRemoteInteractiveLogonRight = *S-1-5-32-544,*%s" % bhelp,
            "SeInteractiveLogonRight = *S-1-5-32-544,*%s,*%s" % (busers, bhelp),
        ]),
        ("Group Membership", ["*S-1-5-32-544__Memberof =",
                              "*S-1-5-32-544__Members = *%s,*%s" % (ctx.rid(512), bhelp)]),
        registry_values_section(ctx),
        ("File Security", ['"%%SystemDrive%%\\Branch",0,"D:PAR(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)'
                           '(A;OICI;0x1301bf;;;%s)"' % busers]),
    ]), SECURITY, SEC_TOOL)
    g.add("machine", "registry.pol", preg(MACHINE_POLICIES[:12]), REGISTRY, REG_TOOL_M)
    g.dacl_add = ["(A;CI;%s;;;%s)" % (EDIT_SETTINGS, bhelp)]
    g.notes.append("GptTmpl.inf with branch SIDs; Branch Helpdesk edit settings")
    gpos.append(g)
    ctx.link(ou["ws"], g, 0)
    ctx.link(base, g, 0)

    g = Gpo("Branch Drive Maps")
    g.add("user", "Preferences/Drives/Drives.xml", drives_xml(rng, nb, [
        ("S", "\\\\fs01.%s\\shared" % r, "Shared", "Branch Users", busers),
        ("T", "\\\\fs01.%s\\tools" % r, "Tools", "Branch Helpdesk", bhelp),
    ]), GPP_DRIVES, GPP_DRIVES_TOOL)
    g.exts["user"].add((GPP_NULL, GPP_DRIVES_TOOL))
    g.notes.append("GPP Drives with branch group SIDs")
    gpos.append(g)
    ctx.link(ou["staff"], g, 0)

    g = Gpo("Branch Kiosk Lockdown", flags=1)
    g.add("machine", "registry.pol", preg(MACHINE_POLICIES[15:22]), REGISTRY, REG_TOOL_M)
    g.add("user", "registry.pol", preg(USER_POLICIES[:8]), REGISTRY, REG_TOOL_U)
    g.wmi_filter = wmi_kiosk
    g.dacl_add = ["(OD;CI;CR;%s;;%s)" % (APPLY_GROUP_POLICY, kiosk)]
    g.notes.append("flags=1, WMI filter Kiosk Devices, deny Apply to Kiosk Operators")
    gpos.append(g)
    ctx.link(ou["kiosks"], g, 2)

    g = Gpo("Branch Logon Script")
    g.add("user", "Scripts/scripts.ini", scripts_ini([
        ("Logon", [("branch-logon.cmd", ""), ("\\\\%s\\NETLOGON\\logon.cmd" % r, "/branch")])]),
        SCRIPTS, SCR_TOOL_U)
    g.add("user", "Scripts/Logon/branch-logon.cmd", b"@echo off\r\nnet use P: \\\\print01.branch\\queue\r\n")
    g.notes.append("user scripts.ini, in-GPO + NETLOGON script")
    gpos.append(g)
    ctx.link(base, g, 0)
    ctx.link(ou["staff"], g, 1)

    g = Gpo("Branch Local Admins")
    g.add("machine", "Preferences/Groups/Groups.xml", groups_xml(rng, nb, [
        ("Administrators (built-in)", "S-1-5-32-544", [("Branch Helpdesk", bhelp)])]),
        GPP_GROUPS, GPP_GROUPS_TOOL)
    g.exts["machine"].add((GPP_NULL, GPP_GROUPS_TOOL))
    g.notes.append("GPP Groups.xml with Branch Helpdesk SID")
    gpos.append(g)
    ctx.link(ou["ws"], g, 0)

    write_netlogon(ctx, "logon.cmd", b"@echo off\r\nrem logon.cmd for %s\r\n" % r.encode())
    return gpos, [wmi_kiosk]


def cmd_realistic(args):
    ctx = Ctx(args.dc_dir)
    if ctx.db.search(ctx.policies_dn, ldb.SCOPE_ONELEVEL, "(displayName=Bulk GPO *)", ["cn"]) or \
       os.path.exists(ctx.manifest_path()):
        print("%s: realistic set already seeded, nothing to do" % ctx.realm)
        return
    rng = random.Random("gpvault-" + args.set)
    t0 = time.time()
    ctx.db.transaction_start()
    try:
        gpos, filters = (seed_corp if args.set == "corp" else seed_branch)(ctx, rng)
        for g in gpos:
            g.finalize_versions(rng)
        write_sysvol(ctx, gpos)
        write_directory(ctx, gpos)
        write_links(ctx)
    except BaseException:
        ctx.db.transaction_cancel()
        raise
    ctx.db.transaction_commit()
    t_acl = time.time()
    if not args.no_ntacl:
        apply_sysvol_acls(ctx, gpos, ctx.netlogon_files)
    t_acl = time.time() - t_acl
    manifest = ctx.load_manifest()
    manifest["gpos"] = [manifest_entry(g) for g in gpos]
    manifest["wmi_filters"] = filters
    ctx.save_manifest(manifest)
    print("%s: seeded %d GPOs (%d new), %d WMI filters in %.1fs (SYSVOL ACLs %.1fs)" % (
        ctx.realm, len(gpos), sum(not g.existing for g in gpos), len(filters), time.time() - t0, t_acl))
    for g in gpos:
        print("  %-36s v=%-8d flags=%d files=%d" % (g.name, g.version, g.flags, len(g.files) + 1))


# --- Bulk GPOs -------------------------------------------------------------------

def bulk_gpo(ctx, n, group_sids):
    """One plausible, slightly varied GPO: GPT.INI + GptTmpl.inf + registry.pol
    always, User registry.pol for about half, the odd GPP / scripts file."""
    rng = random.Random("bulk-%s-%d" % (ctx.realm, n))
    g = Gpo("Bulk GPO %04d" % n, flags=rng.choice([0] * 30 + [1, 2]))
    sids = ["*%s" % s for s in rng.sample(group_sids, 2)]
    lines = registry_values_section(ctx, [
        "MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\InactivityTimeoutSecs=4,%d"
        % rng.choice([300, 600, 900])])[1][: rng.randint(3, 7)]
    sections = gptmpl_header() + [
        ("System Access", ["EnableGuestAccount = 0", "LSAAnonymousNameLookup = 0"]),
        ("Privilege Rights", [
            "SeRemoteInteractiveLogonRight = *S-1-5-32-544,%s" % sids[0],
            "SeInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-545,%s" % ",".join(sids),
            "SeDenyNetworkLogonRight = *S-1-5-32-546,*%s" % ctx.rid(501),
            "SeBackupPrivilege = *S-1-5-32-544,*S-1-5-32-551",
        ][: rng.randint(1, 4)]),
        ("Registry Values", lines),
    ]
    if rng.random() < 0.4:
        sections.append(("Group Membership", ["*S-1-5-32-544__Memberof =",
                                              "*S-1-5-32-544__Members = *%s,%s" % (ctx.rid(512), sids[1])]))
    if rng.random() < 0.3:
        sections.append(("Service General Setting", ['"RemoteRegistry",4,""', '"Spooler",%d,""' % rng.choice([2, 4])]))
    g.add("machine", "Microsoft/Windows NT/SecEdit/GptTmpl.inf", inf(sections), SECURITY, SEC_TOOL)
    mach = pick(rng, MACHINE_POLICIES, 4, 30)
    mach.append(("Software\\Policies\\Corp\\Site", "SiteCode", REG_SZ, "SITE-%04d" % n))
    g.add("machine", "registry.pol", preg(mach), REGISTRY, REG_TOOL_M)
    if rng.random() < 0.5:
        g.add("user", "registry.pol", preg(pick(rng, USER_POLICIES, 2, 14)), REGISTRY, REG_TOOL_U)
    roll = rng.random()
    if roll < 0.12:
        g.add("machine", "Preferences/Groups/Groups.xml", groups_xml(rng, ctx.netbios, [
            ("Administrators (built-in)", "S-1-5-32-544", [("Group %d" % n, sids[0][1:])])]),
            GPP_GROUPS, GPP_GROUPS_TOOL)
        g.exts["machine"].add((GPP_NULL, GPP_GROUPS_TOOL))
    elif roll < 0.18:
        g.add("machine", "Scripts/scripts.ini", scripts_ini([("Startup", [("startup-%04d.cmd" % n, "")])]),
              SCRIPTS, SCR_TOOL_M)
        g.add("machine", "Scripts/Startup/startup-%04d.cmd" % n,
              b"@echo off\r\nrem bulk startup script %d\r\n" % n)
    elif roll < 0.23:
        g.add("user", "Preferences/Drives/Drives.xml", drives_xml(rng, ctx.netbios, [
            ("G", ctx.fs("dept%03d" % (n % 200)), "Dept", None, None)]), GPP_DRIVES, GPP_DRIVES_TOOL)
        g.exts["user"].add((GPP_NULL, GPP_DRIVES_TOOL))
    g.finalize_versions(rng)
    return g


def cmd_bulk(args):
    ctx = Ctx(args.dc_dir)
    t0 = time.time()
    existing = ctx.db.search(ctx.policies_dn, ldb.SCOPE_ONELEVEL, "(displayName=Bulk GPO *)", ["displayName"])
    numbers = [int(str(m["displayName"][0]).split()[-1]) for m in existing]
    count = max(0, args.count - len(numbers)) if args.at_least else args.count
    if count == 0:
        print("%s: %d bulk GPOs present, nothing to add" % (ctx.realm, len(numbers)))
        return
    start = max(numbers, default=0) + 1
    # SIDs that bulk content refers to: the seeded groups when present, else built-in domain groups
    group_sids = []
    for name in ("Helpdesk", "GPO Editors", "Workstation Admins", "Finance Users",
                 "Branch Helpdesk", "Branch Users"):
        try:
            group_sids.append(ctx.sid(name))
        except SystemExit:
            pass
    group_sids += [ctx.rid(513), ctx.rid(512), ctx.rid(515)]
    gpos = [bulk_gpo(ctx, n, group_sids) for n in range(start, start + count)]

    ctx.db.transaction_start()
    try:
        write_directory(ctx, gpos)
    except BaseException:
        ctx.db.transaction_cancel()
        raise
    ctx.db.transaction_commit()
    t_ad = time.time()
    # Bulk GPCs all get the same default SD, so one file-system ACL fits all.
    res = ctx.db.search(gpo_dn(ctx, gpos[0]), ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"])
    ds_sd = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])
    fs_sd = dsacl2fsacl(ds_sd.as_sddl(), security.dom_sid(ctx.domsid), as_sddl=False)
    blob = xattr.NTACL()
    blob.version = 1
    blob.info = fs_sd
    write_sysvol(ctx, gpos, ntacl_blob=None if args.no_ntacl else ndr_pack(blob))
    t_fs = time.time()

    manifest = ctx.load_manifest()
    manifest["gpos"].extend(manifest_entry(g, bulk=True) for g in gpos)
    ctx.save_manifest(manifest)
    nfiles = sum(len(g.files) + 1 for g in gpos)
    print("%s: added %d bulk GPOs (%s..%s, %d files) in %.1fs (directory %.1fs, sysvol %.1fs); %d bulk GPOs now" % (
        ctx.realm, count, gpos[0].name, gpos[-1].name, nfiles, time.time() - t0,
        t_ad - t0, t_fs - t_ad, len(numbers) + count))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("realistic", help="seed OUs, principals, WMI filters and the realistic GPO set")
    r.add_argument("--dc-dir", required=True)
    r.add_argument("--set", choices=("corp", "branch"), required=True)
    r.add_argument("--no-ntacl", action="store_true",
                   help="leave SYSVOL NT ACLs alone (run samba-tool ntacl sysvolreset yourself)")
    b = sub.add_parser("bulk", help="add bulk GPOs")
    b.add_argument("--dc-dir", required=True)
    b.add_argument("--count", type=int, required=True)
    b.add_argument("--at-least", action="store_true", help="top up to COUNT bulk GPOs in total")
    b.add_argument("--no-ntacl", action="store_true", help="do not stamp NT ACL xattrs on SYSVOL files")
    args = p.parse_args()
    if args.cmd == "realistic":
        cmd_realistic(args)
    else:
        if args.count < 0:
            p.error("--count must be >= 0")
        cmd_bulk(args)


if __name__ == "__main__":
    main()
