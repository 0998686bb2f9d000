// Every part of the Pulumi Node.js SDK the mock engine uses that is not its public API, in one
// place: an SDK upgrade that moves them breaks this file only. Checked against @pulumi/pulumi 3.270.
export { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc.js";
export { runInPulumiStack } from "@pulumi/pulumi/runtime/stack.js";
import { getMonitor } from "@pulumi/pulumi/runtime/settings.js";

/** The parts of a RegisterResourceRequest (proto/resource_pb) the mock engine records. */
export interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getProvider(): string;
  getDeletedwith(): string;
  getDependenciesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getDeletebeforereplace(): boolean;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
}

type Callback = (error: unknown, response: unknown) => void;

/**
 * Wraps the mock monitor's resource registration (after `pulumi.runtime.setMocks`): `onRequest`
 * sees each request, `onResponse` the URN the engine gave it. Resource options such as
 * deletedWith or dependsOn reach only this request, not `Mocks.newResource`.
 */
export function interceptRegistrations(onRequest: (request: RegisterRequest) => (urn: string) => void): void {
  const monitor = getMonitor() as unknown as { registerResource(req: RegisterRequest, callback: Callback): Promise<void> };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const onResponse = onRequest(req);
    return register(req, (error, response) => {
      onResponse((response as { getUrn(): string } | undefined)?.getUrn() ?? "");
      callback(error, response);
    });
  };
}
