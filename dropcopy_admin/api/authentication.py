from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from dropcopy_admin.services.users import api_token_user


class HashedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <token>``, checked against the stored digest."""

    def authenticate_credentials(self, key):
        user = api_token_user(token=key)
        if user is None:
            raise AuthenticationFailed("Invalid token.")
        return (user, None)
