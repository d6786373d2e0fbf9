/** What other parts use from dashboards/ (see README.md). */
export { dashboardFiles, generatedDashboardFiles } from './generate';
export { provisioningFiles, valuesFromConfig } from './provisioning';
