/** A newer-shape ApplicationDescription with two profiles, parameters, a configuration schema and constraints. */
export function linePackage(version = '1.0.0', id = 'com-example-line-monitor'): string {
  return `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
id: ${id}
metadata:
  name: Line Monitor
  description: Watches a production line and reports OEE.
  version: "${version}"
  catalog:
    organization:
      - name: Example Industrial
deploymentProfiles:
  - type: helm
    id: line-monitor-helm
    components:
      - name: line-monitor
        properties:
          repository: oci://registry.example.com/charts/line-monitor
          revision: 1.4.0
          wait: true
    deviceConstraints:
      capacityRequirements:
        cpu:
          cores: 2
          architectures: [amd64, arm64]
        memory: 2Gi
        storage: 10Gi
  - type: compose
    id: line-monitor-compose
    components:
      - name: line-monitor-compose
        properties:
          packageLocation: https://downloads.example.com/line-monitor/compose.tar.gz
        x-example-extensions:
          pull: always
    deviceConstraints:
      capacityRequirements:
        cpu:
          cores: 1
        memory: 1Gi
parameters:
  greeting:
    value: Hello
    targets:
      - pointer: global.greeting
        components: [line-monitor]
      - pointer: GREETING
        components: [line-monitor-compose]
  sampleRate:
    value: 10
    targets:
      - pointer: SAMPLE_RATE
        components: [line-monitor-compose]
  siteId:
    targets:
      - pointer: SITE_ID
        components: [line-monitor-compose, line-monitor]
configuration:
  sections:
    - name: General
      settings:
        - parameter: greeting
          name: Greeting
          schema: shortText
        - parameter: sampleRate
          name: Sample rate (Hz)
          schema: rate
        - parameter: siteId
          name: Site
          immutable: true
          schema: siteCode
  schema:
    - name: shortText
      dataType: string
      maxLength: 20
      allowEmpty: false
    - name: rate
      dataType: integer
      minValue: 1
      maxValue: 100
    - name: siteCode
      dataType: string
      regexMatch: "^[A-Z]{2}-[0-9]{3}$"
x-example-extensions:
  support: https://support.example.com
`;
}
