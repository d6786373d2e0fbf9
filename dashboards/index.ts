/** What other parts use from dashboards/ (see README.md). */
export { writeRetentionsMeasurement, retentionThresholdsFrom, retentionFor, DEFAULT_THRESHOLDS, type RetentionThresholds } from '../downsample/retentions';
export { dashboardFiles, dashboardRegistry } from './generate';
export { provisioningFiles, valuesFromConfig } from './provisioning';
