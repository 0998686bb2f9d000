// Pulumi entry point (Pulumi.yaml `main: infra/`): the exported function's result is the stack outputs.
import { deployEnvironment } from "./environment.ts";

export default deployEnvironment;
