// Prometheus: kube-prometheus-stack, installed by Flux, reduced to the Prometheus server.
import type { z } from "zod";
import { described, pinnedChart, section, text, wholeNumber, yesNo } from "./fields";

export const prometheusSchema = described(
  section({
    ...pinnedChart({
      version: "88.5.3",
      repository: "https://prometheus-community.github.io/helm-charts",
      versionDoc: "exact `kube-prometheus-stack` chart version",
      repositoryDoc: "Helm repository Flux installs it from",
    }),
    // Prometheus durations: a number and a unit, possibly repeated (1d, 12h, 1w2d).
    retention: described(
      text(/^([0-9]+(ms|s|m|h|d|w|y))+$/, "must be a Prometheus duration such as 12h or 1d").default("1d"),
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
