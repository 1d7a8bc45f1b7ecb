# The image for every machine a release supports, built with `docker buildx bake` (README:
# "Docker on a Raspberry Pi"; RELEASING.md). Nothing here publishes unless asked to:
#
#   docker buildx bake                        # this machine's platform, into the local store
#   make image-release                        # the release: 3 platforms, pushed (RELEASING.md)
#
# VERSION is the package's (lianke_bridge/__init__.py), passed in by `make image-release`;
# REVISION the git commit. Both become the image's OCI labels (see the Dockerfile).

variable "VERSION" {
  default = "dev"
}

variable "REVISION" {
  default = ""
}

variable "IMAGE" {
  default = "ghcr.io/lianke-bridge/lianke-bridge"
}

# "0.3.0" -> "0.3": the tag that follows a minor version's fixes.
function "minor" {
  params = [version]
  result = join(".", slice(split(".", version), 0, 2))
}

group "default" {
  targets = ["image"]
}

target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  args = {
    VERSION  = VERSION
    REVISION = REVISION
  }
}

# One platform (this machine's), loaded into the local image store.
target "image" {
  inherits = ["_common"]
  tags     = ["lianke-bridge:${VERSION}", "lianke-bridge:latest"]
  output   = ["type=docker"]
}

# A release: PCs and servers, 64-bit and 32-bit Raspberry Pi OS; tagged X.Y.Z, X.Y and latest.
target "release" {
  inherits  = ["_common"]
  platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
  tags = [
    "${IMAGE}:${VERSION}",
    "${IMAGE}:${minor(VERSION)}",
    "${IMAGE}:latest",
  ]
  # what a registry shows for the multi-platform image (the labels are per platform)
  annotations = [
    "index:org.opencontainers.image.title=lianke-bridge",
    "index:org.opencontainers.image.description=Lianke (链科) cloud printer boxes on MQTT, with Home Assistant discovery",
    "index:org.opencontainers.image.source=https://github.com/lianke-bridge/lianke-bridge",
    "index:org.opencontainers.image.licenses=MIT",
    "index:org.opencontainers.image.version=${VERSION}",
    "index:org.opencontainers.image.revision=${REVISION}",
  ]
  attest = ["type=provenance,mode=max", "type=sbom"]
}
