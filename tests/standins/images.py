"""Reproducible test images, generated here and pushed over the registry API.

Layers are real gzipped tarballs of seeded random bytes (incompressible, so sizes are
what they say), with fixed timestamps: the same seed gives the same digests.
"""

import gzip
import hashlib
import io
import json
import random
import tarfile

import requests

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IN_TOTO_LAYER = "application/vnd.in-toto+json"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(seed, size):
    """A gzipped tar holding one file of `size` random bytes; returns (blob, diff_id)."""
    payload = random.Random(seed).randbytes(size)
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo(name=f"data-{seed}.bin")
        info.size = size
        info.mtime = 0
        archive.addfile(info, io.BytesIO(payload))
    raw = tar_bytes.getvalue()
    return gzip.compress(raw, compresslevel=1, mtime=0), sha256(raw)


class ImagePusher:
    def __init__(self, registry_url, username=None, password=None):
        self.url = registry_url.rstrip("/")
        self.session = requests.Session()
        if username is not None:
            self.session.auth = (username, password)

    def push_blob(self, repository, data):
        digest = sha256(data)
        exists = self.session.head(f"{self.url}/v2/{repository}/blobs/{digest}")
        if exists.status_code == 200:
            return digest
        started = self.session.post(f"{self.url}/v2/{repository}/blobs/uploads/")
        started.raise_for_status()
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        separator = "&" if "?" in location else "?"
        done = self.session.put(
            f"{location}{separator}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        done.raise_for_status()
        return digest

    def push_manifest(self, repository, reference, body, media_type):
        response = self.session.put(
            f"{self.url}/v2/{repository}/manifests/{reference}",
            data=body,
            headers={"Content-Type": media_type},
        )
        response.raise_for_status()
        return sha256(body)

    def push_image(
        self, repository, tag, layer_sizes, *, seed, oci=False, platform=("linux", "amd64")
    ):
        """A single-platform image; returns (digest, manifest bytes, media type)."""
        body, media_type = self.build_image(
            repository, layer_sizes, seed=seed, oci=oci, platform=platform
        )
        reference = tag or sha256(body)
        return self.push_manifest(repository, reference, body, media_type), body, media_type

    def build_image(self, repository, layer_sizes, *, seed, oci, platform):
        layer_descriptors, diff_ids = [], []
        for index, size in enumerate(layer_sizes):
            blob, diff_id = layer(f"{seed}-{index}", size)
            layer_descriptors.append(
                {
                    "mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                    "size": len(blob),
                    "digest": self.push_blob(repository, blob),
                }
            )
            diff_ids.append(diff_id)
        config = json.dumps(
            {
                "architecture": platform[1],
                "os": platform[0],
                "created": "2024-01-01T00:00:00Z",
                "config": {"Labels": {"seed": str(seed)}},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
            },
            sort_keys=True,
        ).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                "size": len(config),
                "digest": self.push_blob(repository, config),
            },
            "layers": layer_descriptors,
        }
        return json.dumps(manifest, indent=3).encode(), manifest["mediaType"]

    def push_index(self, repository, tag, platforms, layer_sizes, *, seed, attestation=True):
        """An OCI index of one image per platform, plus (like BuildKit) an attestation
        manifest with platform unknown/unknown. Returns (digest, index bytes, child digests)."""
        entries = []
        for platform in platforms:
            os_name, architecture = platform.split("/")[:2]
            body, media_type = self.build_image(
                repository,
                layer_sizes,
                seed=f"{seed}-{platform}",
                oci=True,
                platform=(os_name, architecture),
            )
            digest = self.push_manifest(repository, sha256(body), body, media_type)
            entries.append(
                {
                    "mediaType": media_type,
                    "size": len(body),
                    "digest": digest,
                    "platform": {"architecture": architecture, "os": os_name},
                }
            )
        if attestation:
            statement = json.dumps(
                {
                    "_type": "https://in-toto.io/Statement/v0.1",
                    "predicateType": "https://slsa.dev/provenance/v0.2",
                    "seed": str(seed),
                }
            ).encode()
            config = b"{}"
            body = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {
                        "mediaType": OCI_CONFIG,
                        "size": len(config),
                        "digest": self.push_blob(repository, config),
                    },
                    "layers": [
                        {
                            "mediaType": IN_TOTO_LAYER,
                            "size": len(statement),
                            "digest": self.push_blob(repository, statement),
                            "annotations": {
                                "in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"
                            },
                        }
                    ],
                }
            ).encode()
            digest = self.push_manifest(repository, sha256(body), body, OCI_MANIFEST)
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "size": len(body),
                    "digest": digest,
                    "platform": {"architecture": "unknown", "os": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": entries[0]["digest"],
                    },
                }
            )
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, indent=2
        ).encode()
        digest = self.push_manifest(repository, tag, index, OCI_INDEX)
        return digest, index, [entry["digest"] for entry in entries]
