"""The XML of the two Jenkins credential kinds the ecrToDocker step uses, built and read.

Built with ElementTree, so `<`, `>` and `&` in a value are escaped and quotes stay legal
text; the document is sent as UTF-8, so non-ASCII values arrive unchanged. Read back from a
credential's config.xml, where Jenkins never shows a stored secret: the credentials plugin
writes `<secret-redacted/>` in its place (older setups may show an encrypted `{...}` blob).
So only the visible fields can be compared, and `Credential.secret_fields` is never read
back from Jenkins.
"""

import dataclasses
import re
import xml.etree.ElementTree as ET

USERNAME_PASSWORD = "usernamePassword"
SECRET_TEXT = "secretText"

# Jenkins' class names for each kind: the root element of the credential's XML.
CLASS_NAMES = {
    USERNAME_PASSWORD: "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl",
    SECRET_TEXT: "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl",
}
KINDS = {class_name: kind for kind, class_name in CLASS_NAMES.items()}

# Credentials in the global domain visible to jobs; SYSTEM would hide them from pipelines.
SCOPE = "GLOBAL"

XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"

# Characters XML 1.0 can carry. Carriage return is left out on purpose: a parser turns a
# raw CR into LF, so Jenkins would store a different value than the one given.
_XML_TEXT = re.compile("^[\t\n\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")


class UnreadableCredentialXmlError(ValueError):
    """Jenkins answered with a credential config.xml that is not XML."""


def is_xml_safe(value):
    """True when `value` survives a trip through XML unchanged."""
    return bool(_XML_TEXT.match(value))


@dataclasses.dataclass(frozen=True)
class Credential:
    """One credential: its kind, ID, and fields, split into what Jenkins shows and not."""

    kind: str
    id: str
    description: str
    scope: str = SCOPE
    # Fields Jenkins shows back in config.xml, in document order.
    public_fields: tuple = ()
    # Fields Jenkins redacts; empty when the Credential was read from Jenkins.
    secret_fields: tuple = ()

    def visible(self):
        """The fields that can be compared with what Jenkins shows, by name."""
        return {
            "kind": self.kind,
            "scope": self.scope,
            "description": self.description,
            **dict(self.public_fields),
        }


def username_password(credential_id, username, password):
    # usernameSecret=false is what the "Username with password" form defaults to; leaving
    # it out would make Jenkins mask the username in build logs, as for pre-2.6 data.
    return Credential(
        kind=USERNAME_PASSWORD,
        id=credential_id,
        description=credential_id,
        public_fields=(("username", username), ("usernameSecret", "false")),
        secret_fields=(("password", password),),
    )


def secret_text(credential_id, secret):
    return Credential(
        kind=SECRET_TEXT,
        id=credential_id,
        description=credential_id,
        secret_fields=(("secret", secret),),
    )


def to_xml(credential):
    """The config.xml Jenkins' createCredentials and config.xml endpoints accept."""
    root = ET.Element(CLASS_NAMES[credential.kind])
    for name, value in (
        ("scope", credential.scope),
        ("id", credential.id),
        ("description", credential.description),
    ):
        ET.SubElement(root, name).text = value
    # Jenkins' XStream reads fields by name, but keeping its own order makes the document
    # look like the ones it writes.
    order = {"username": 0, "password": 1, "secret": 1, "usernameSecret": 2}
    fields = sorted(
        (*credential.public_fields, *credential.secret_fields),
        key=lambda field: order.get(field[0], 9),
    )
    for name, value in fields:
        ET.SubElement(root, name).text = value
    return XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def from_xml(text, secret_names=("password", "secret")):
    """The visible part of a credential config.xml as Jenkins returns it.

    Returns a Credential whose kind is the class name itself when it is neither of ours.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise UnreadableCredentialXmlError(f"not XML: {error}") from None
    kind = KINDS.get(root.tag, root.tag)
    public = []
    for child in root:
        if child.tag in ("scope", "id", "description") or child.tag in secret_names:
            continue
        if len(child):  # nested structures are not ours to compare
            continue
        public.append((child.tag, child.text or ""))
    return Credential(
        kind=kind,
        id=(root.findtext("id") or "").strip(),
        description=root.findtext("description") or "",
        scope=(root.findtext("scope") or "").strip(),
        public_fields=tuple(public),
    )


def differences(wanted, current):
    """Names of the visible fields whose values differ, in a stable order.

    A field Jenkins does not show at all (an older plugin without `usernameSecret`) is
    not counted: its absence says nothing about the value.
    """
    shown = current.visible()
    return [
        name for name, value in wanted.visible().items() if name in shown and shown[name] != value
    ]
