// Settings only ever read as Pulumi secrets (pulumi config set --secret ...): the stack file is
// committed, so they must be encrypted there, and no message ever shows their values.

export const secretSettings = {
  kubeconfig: "**secret** (`--secret`): an existing cluster's kubeconfig, instead of `cluster.kubeconfigPath`",
  gitSshPrivateKey: "**secret** (`--secret`): your own SSH private key instead of the generated deploy key",
  gitToken: "**secret** (`--secret`): token for an `https://` repository; required there for image updates",
  githubToken:
    "**secret** (`--secret`): a GitHub token (or `GITHUB_TOKEN` in the environment) with which the stack adds its generated deploy key to an `ssh://` github.com repository, and removes it on destroy",
} as const;
export type SecretSetting = keyof typeof secretSettings;

/** What each secret is, for messages. */
const whatItIs: Record<SecretSetting, string> = {
  kubeconfig: "the kubeconfig of an existing cluster (cluster.kind: existing)",
  gitSshPrivateKey: "an SSH private key for ssh:// repositories, instead of the generated one",
  gitToken: "a token (the password of git.username) for https:// repositories",
  githubToken: "a GitHub token that may add deploy keys to the repository (Administration: read and write)",
};

/** The secret settings a stack sets, in plain text (to be wrapped in pulumi.secret where used). */
export type SecretValues = Partial<Record<SecretSetting, string>>;

/** Reads the secret settings: each must be stored encrypted and not be empty. */
export function readSecrets(
  project: string,
  config: Readonly<Record<string, string>>,
  secretKeys: readonly string[],
  problems: string[],
): SecretValues {
  const secrets: SecretValues = {};
  for (const name of Object.keys(secretSettings) as SecretSetting[]) {
    const key = `${project}:${name}`;
    const value = config[key];
    if (value === undefined) continue;
    if (!secretKeys.includes(key)) {
      problems.push(
        `${key}: (value hidden) — must be stored encrypted, it is ${whatItIs[name]}: pulumi config set --secret ${name} <value>`,
      );
    } else if (value.trim() === "") {
      problems.push(`${key}: (empty) — must be ${whatItIs[name]}`);
    } else {
      secrets[name] = value;
    }
  }
  return secrets;
}
