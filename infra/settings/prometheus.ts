// Prometheus: kube-prometheus-stack, installed by Flux, reduced to the Prometheus server.
import type { z } from "zod";
import { described, pinnedChart, prometheusDurationPattern, section, text, wholeNumber, yesNo } from "./fields.ts";

export const prometheusSchema = described(
  section({
    ...pinnedChart({
      version: "88.5.3",
      repository: "https://prometheus-community.github.io/helm-charts",
      versionDoc: "exact `kube-prometheus-stack` chart version",
      repositoryDoc: "Helm repository Flux installs it from",
    }),
    // model.ParseDuration: units from the largest (1w2d, not 2d1w). Zero would mean Prometheus' own 15d.
    retention: described(
      text(prometheusDurationPattern, "must be a Prometheus duration such as 12h, 1d or 1w2d (units y, w, d, h, m, s, ms, largest first)")
        .refine((duration) => !prometheusDurationPattern.test(duration) || /[1-9]/.test(duration), {
          error: "must be longer than zero, such as 12h or 1d",
        })
        .default("1d"),
      "how long Prometheus keeps metrics (`12h`, `1d`, `1w`)",
    ),
    replicas: described(wholeNumber(1, 3).default(1), "Prometheus server replicas (1–3)"),
    enableAdminAPI: described(yesNo().default(true), "Prometheus' admin API, as in the demo"),
    readyTimeoutSeconds: described(
      wholeNumber(600, 3600).default(900),
      "how long `up` waits for Flux to report Prometheus Ready (600–3600)",
    ),
  }).prefault({}),
  "Prometheus (kube-prometheus-stack, installed by Flux): chartVersion (exact, default 88.5.3), repository, retention, replicas, enableAdminAPI, readyTimeoutSeconds.",
);

export type PrometheusSettings = z.output<typeof prometheusSchema>;
