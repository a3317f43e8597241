"""Credential providers that plug the SDKs users already authenticate with into obstore.

Each submodule needs an optional dependency (importing it without that dependency raises an
``ImportError`` naming the extra to install):

* ``obstore.auth.boto3`` — ``Boto3CredentialProvider``, ``StsCredentialProvider``
  (``pip install obstore[boto3]``);
* ``obstore.auth.google`` — ``GoogleCredentialProvider``, ``GoogleAsyncCredentialProvider``
  (``pip install obstore[google]``);
* ``obstore.auth.azure`` — ``AzureCredentialProvider``, ``AzureAsyncCredentialProvider``
  (``pip install obstore[azure]``);
* ``obstore.auth.earthdata`` — NASA Earthdata S3 credentials
  (``pip install obstore[earthdata]``);
* ``obstore.auth.planetary_computer`` — Microsoft Planetary Computer SAS tokens
  (``pip install obstore[planetary-computer]``).

Every provider is a callable returning the credential dict a store expects, so it is passed
as ``credential_provider=`` to ``S3Store``, ``GCSStore`` or ``AzureStore``.
"""
