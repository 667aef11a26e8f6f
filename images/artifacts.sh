# shellcheck shell=bash
# The artifacts each image downloads, derived from versions.env (sourced first by the caller).
# Shared by build.sh (looks each URL up in checksums.txt) and pin.sh (downloads and pins them).
# One line per artifact: `BUILD_ARG URL`; BUILD_ARG receives `<algo>:<hex>` from checksums.txt.

artifacts_for() {
  case "$1" in
    tool)
      # Both architectures: the Dockerfile picks the one matching the build platform.
      echo "KUBECTL_SUM_AMD64 https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl"
      echo "KUBECTL_SUM_ARM64 https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/arm64/kubectl"
      ;;
    connect-jdbc)
      echo "DEBEZIUM_MYSQL_SUM https://repo1.maven.org/maven2/io/debezium/debezium-connector-mysql/${DEBEZIUM_VERSION}/debezium-connector-mysql-${DEBEZIUM_VERSION}-plugin.tar.gz"
      echo "DEBEZIUM_SQLSERVER_SUM https://repo1.maven.org/maven2/io/debezium/debezium-connector-sqlserver/${DEBEZIUM_VERSION}/debezium-connector-sqlserver-${DEBEZIUM_VERSION}-plugin.tar.gz"
      echo "CONFLUENT_JDBC_SUM https://hub-downloads.confluent.io/api/plugins/confluentinc/kafka-connect-jdbc/versions/${CONFLUENT_JDBC_VERSION}/confluentinc-kafka-connect-jdbc-${CONFLUENT_JDBC_VERSION}.zip"
      ;;
    connect-s3)
      echo "CONFLUENT_S3_SUM https://hub-downloads.confluent.io/api/plugins/confluentinc/kafka-connect-s3/versions/${CONFLUENT_S3_VERSION}/confluentinc-kafka-connect-s3-${CONFLUENT_S3_VERSION}.zip"
      ;;
    *) return 1 ;;
  esac
}
