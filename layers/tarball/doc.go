// Package tarball reads and writes image archives: the tar files of
// "docker save" / "docker load" (docker-archive) and OCI image layouts packed
// as a tar (oci-archive), plus OCI layout directories. It knows nothing of the
// store; the store hands it bytes and streams and gets bytes and streams back.
//
// # Reading
//
// [Read] scans the tar headers once and remembers where each member's data
// starts; nothing is extracted to disk and no layer is held in memory. Only
// the small JSON documents (manifest.json, index.json, manifests, configs) are
// read whole, each bounded to 16 MiB. Layers are handed out as
// [Layer.Open] functions over sections of the archive.
//
// Understood layouts:
//
//   - docker-archive, legacy form (Docker < 25, skopeo): manifest.json lists
//     each image's config ("<hex>.json") and layers ("<id>/layer.tar",
//     "<hex>.tar"); a layer member may be a symlink or hard link to another
//     member, as Docker writes for layers shared between images.
//   - docker-archive, Docker >= 25 form: the same manifest.json, pointing into
//     an OCI layout (blobs/sha256/<hex>) that is also in the tar. The OCI
//     manifest whose config and layers match a manifest.json entry supplies
//     [Image.Manifest] and the layers' blob digests and media types.
//   - oci-archive and OCI layout directories: oci-layout, index.json and
//     blobs/<alg>/<hex>. Every descriptor of index.json is an image; an image
//     index (nested up to 4 deep) resolves to its linux/amd64 manifest, or
//     to its only manifest; manifests whose blobs the archive lacks are not
//     candidates. The annotation
//     io.containerd.image.name, else org.opencontainers.image.ref.name,
//     gives the tag; descriptors of one manifest are merged into one image.
//     Manifests whose config is not an image config (signatures, SBOMs and
//     other artifacts) are skipped.
//
// Layer members may be uncompressed, gzip or zstd tars; the caller detects
// which from the first bytes.
//
// # What is verified, and when
//
// While reading: every member name is clean and relative (no "..", no
// leading "/"), no name appears twice, links resolve inside the archive,
// every member a document refers to exists, JSON documents parse, manifests
// and configs hash to the digests that name them ([ErrDigestMismatch]), blob
// sizes equal their descriptors' sizes, and each image has as many layers as
// its config has rootfs.diff_ids. Anything else wrong wraps
// [ErrInvalidArchive] and names the member.
//
// Not verified: the layer contents. Hashing every layer up front would read
// the archive twice, so it is the caller's job while it unpacks a layer from
// Open: against [Layer.Digest] when it is set, and in every case against the
// config's diff_id after decompression.
//
// # Writing
//
// [Write] produces either format from manifests, configs and layer streams
// the caller provides, verifying each layer's size and digest as it streams
// it. Output is deterministic: members sorted by name, fixed modification
// times, owner 0:0, USTAR headers unless a size needs PAX. A docker-archive
// is written in Docker 25's shape, so both "docker load" (which reads
// manifest.json) and OCI tools (which read index.json) accept it.
package tarball
