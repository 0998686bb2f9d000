// The Pod Security Standards' "restricted" profile (which includes "baseline"), as listed in
// the Kubernetes documentation (kubernetes.io/docs/concepts/security/pod-security-standards/).
// Returns what a pod spec violates; empty when it passes.
type Container = {
  name: string;
  ports?: { hostPort?: number }[];
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    procMount?: string;
    seccompProfile?: { type?: string };
    capabilities?: { add?: string[]; drop?: string[] };
    seLinuxOptions?: { type?: string; user?: string; role?: string };
    appArmorProfile?: { type?: string };
  };
};
export type PodSpec = {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: Record<string, unknown>[];
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    seccompProfile?: { type?: string };
    sysctls?: { name: string }[];
    seLinuxOptions?: { type?: string };
  };
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
};

const baselineCapabilities = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
const safeSysctls = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const allowedSeLinuxTypes = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);
const restrictedVolumeTypes = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

export function restrictedViolations(pod: PodSpec): string[] {
  const problems: string[] = [];
  const containers = [...pod.containers, ...(pod.initContainers ?? []), ...(pod.ephemeralContainers ?? [])];
  const podContext = pod.securityContext ?? {};

  // Baseline.
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push("host namespaces must not be shared");
  for (const sysctl of podContext.sysctls ?? [])
    if (!safeSysctls.has(sysctl.name)) problems.push(`sysctl ${sysctl.name} is not in the safe set`);
  if (!allowedSeLinuxTypes.has(podContext.seLinuxOptions?.type ?? "")) problems.push("pod SELinux type is not allowed");
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== "name") ?? "";
    if (type === "hostPath") problems.push(`volume ${String(volume.name)}: hostPath volumes are forbidden`);
    else if (!restrictedVolumeTypes.has(type)) problems.push(`volume ${String(volume.name)}: type ${type} is not allowed`);
  }
  if (podContext.seccompProfile?.type === "Unconfined") problems.push("pod seccomp profile must not be Unconfined");

  for (const container of containers) {
    const context = container.securityContext ?? {};
    const name = `container ${container.name}`;
    if (context.privileged) problems.push(`${name}: must not be privileged`);
    for (const capability of context.capabilities?.add ?? []) {
      if (!baselineCapabilities.has(capability)) problems.push(`${name}: capability ${capability} may not be added`);
      else if (capability !== "NET_BIND_SERVICE") problems.push(`${name}: only NET_BIND_SERVICE may be added`);
    }
    if ((container.ports ?? []).some((port) => port.hostPort !== undefined && port.hostPort !== 0))
      problems.push(`${name}: host ports are forbidden`);
    if (context.procMount !== undefined && context.procMount !== "Default") problems.push(`${name}: /proc mount must be Default`);
    if (!allowedSeLinuxTypes.has(context.seLinuxOptions?.type ?? "")) problems.push(`${name}: SELinux type is not allowed`);
    if (context.appArmorProfile?.type === "Unconfined") problems.push(`${name}: AppArmor must not be Unconfined`);

    // Restricted.
    if (context.allowPrivilegeEscalation !== false) problems.push(`${name}: allowPrivilegeEscalation must be false`);
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true) problems.push(`${name}: runAsNonRoot must be true`);
    if ((context.runAsUser ?? podContext.runAsUser) === 0) problems.push(`${name}: runAsUser must not be 0`);
    const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
      problems.push(`${name}: seccomp profile must be RuntimeDefault or Localhost`);
    if (!(context.capabilities?.drop ?? []).includes("ALL")) problems.push(`${name}: capabilities must drop ALL`);
  }
  return problems;
}
