// The image registries beside the kind clusters: the pinned registry image, an environment's
// local registry (its names), and the machine's pull-through mirrors.

/**
 * The registry image (CNCF distribution), pinned: 3.1.1, a maintained tag (3.0.0 is no longer
 * one). The digest is the multi-platform index docker-library publishes for `registry:3.1.1`
 * (docker-library/repo-info, repos/registry/remote/3.1.1.md, commit 38feaf4c).
 */
export const registryImage = "registry:3.1.1@sha256:849b7d29920d060df8091770ede2279c07924ecd29e2a4c029ee0b5ea2ea542b";

/**
 * What every registry container is started with besides its own settings. No trace exporter:
 * distribution 3 exports traces to localhost:4318 unless told not to, and logs each failure
 * (distribution#4270); the 3.0.0 image lacked this default, which later images set themselves.
 */
export const registryEnvironmentFlags = "--env OTEL_TRACES_EXPORTER=none --env REGISTRY_LOG_LEVEL=info";

/**
 * The pull-through mirrors kind nodes pull through when `cluster.mirrors` is on: one registry
 * (proxy mode) per registry the demo's images come from, shared by every environment on the
 * machine. Docker Hub: the server; ghcr.io: Flux; quay.io: Prometheus and its operator;
 * registry.k8s.io: Kubernetes' own add-ons.
 */
export const registryMirrors = [
  { registry: "docker.io", container: "gitops-mirror-docker-io", upstream: "https://registry-1.docker.io" },
  { registry: "ghcr.io", container: "gitops-mirror-ghcr-io", upstream: "https://ghcr.io" },
  { registry: "quay.io", container: "gitops-mirror-quay-io", upstream: "https://quay.io" },
  { registry: "registry.k8s.io", container: "gitops-mirror-registry-k8s-io", upstream: "https://registry.k8s.io" },
] as const;

/** A local registry beside a kind cluster: one name for the nodes, Flux and the stack file, one port for pushes. */
export interface LocalRegistry {
  /** The registry container; also its host name on kind's Docker network. */
  readonly containerName: string;
  /**
   * How the nodes (containerd), Flux's pods and image references reach it: `<container>:5000`,
   * over plain HTTP. `localhost:<port>`, kind's example, would be each pod's own loopback.
   */
  readonly host: string;
  /** Port on 127.0.0.1 of the host, for `docker push localhost:<port>/...`. */
  readonly hostPort: number;
  /** The server's image, when it lives in this registry: its path and tag there. */
  readonly serverImage?: { readonly path: string; readonly tag: string };
}

/**
 * The Git server image: Soft Serve, Charm's single-binary Git server (SSH and smart HTTP, repositories
 * created on first push, anonymous access set by SOFT_SERVE_ANON_ACCESS, which v0.12 reads). Pinned
 * by tag only: no digest for v0.12.2 could be read where this was written (no registry access);
 * the end-to-end report records what a real run pulled.
 */
export const gitServerImage = "charmcli/soft-serve:v0.12.2";

/** A Git server beside a kind cluster: Flux syncs from it and pushes image updates to it; the user pushes over 127.0.0.1. */
export interface LocalGitServer {
  /** The server container; also its host name on kind's Docker network. */
  readonly containerName: string;
  /** The repository's name on it. */
  readonly repository: string;
  /** The repository's URL for Flux, over kind's network: plain HTTP, no credentials. */
  readonly clusterUrl: string;
  /** Port on 127.0.0.1 of the host, for the user's `git push`. */
  readonly hostPort: number;
  /** The repository's URL from the host: the remote to add. */
  readonly hostUrl: string;
}

/** The repository the local Git server holds: the project, under the project's name. */
export const localGitServer = (clusterName: string, hostPort: number, repository: string): LocalGitServer => ({
  containerName: `${clusterName}-git`,
  repository,
  clusterUrl: `http://${clusterName}-git:23232/${repository}.git`,
  hostPort,
  hostUrl: `http://127.0.0.1:${hostPort}/${repository}.git`,
});

/** The local registry of kind cluster `clusterName`. */
export const localRegistry = (clusterName: string, hostPort: number): LocalRegistry => ({
  containerName: `${clusterName}-registry`,
  host: `${clusterName}-registry:5000`,
  hostPort,
});
