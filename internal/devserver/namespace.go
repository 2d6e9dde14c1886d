package devserver

import "go.temporal.io/api/workflowservice/v1"

func describeNamespaceRequest(namespace string) *workflowservice.DescribeNamespaceRequest {
	return &workflowservice.DescribeNamespaceRequest{Namespace: namespace}
}
