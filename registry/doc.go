// Package registry moves images between the layer store and registries
// that speak the OCI distribution API (Docker Hub, the reference registry,
// every cloud's): pull, push, login and search. The protocol, its token
// and basic authentication and manifest lists come from
// go-containerregistry; what arrives is streamed into the store by
// layers.Tx.PutLayer, and manifests and configs are kept byte for byte, so
// an image's id is the same in the registry and in the store.
//
// # Transport
//
// Registries are reached over HTTPS with the system's roots. Loopback
// registries (localhost, 127.0.0.0/8, ::1) and those listed as insecure
// (Options.Insecure, from the --insecure-registry flag and the files of
// ConfigPaths) may also be reached over plain HTTP or with a certificate
// that is not checked; plain HTTP to any other host is refused.
//
// # Credentials
//
// Credentials are Docker's: config.json in $DOCKER_CONFIG or ~/.docker,
// with its credential helpers and credsStore, so an existing docker login
// works, and Login and Logout write the same file.
//
// # Errors
//
// Every error is one line naming the reference or registry and the
// problem ("manifest for localhost:5000/x:nope not found: manifest
// unknown"), and wraps one of the package's sentinels where one applies.
// A failed pull leaves the store as it was, except for layers that were
// completely downloaded and verified, which a new pull reuses.
package registry
