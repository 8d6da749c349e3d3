"""AWS IAM: the AWS managed policies every account has (``AWSLambdaBasicExecutionRole`` ...)."""
