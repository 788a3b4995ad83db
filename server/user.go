package server

import (
	"net/http"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerUserRoutes(g routeGroup) {
	g.GET("/admin/users", s.handleUserList)
	g.POST("/admin/users", s.handleUserCreate)
	g.GET("/admin/users/:id", s.handleUserView)
	g.PATCH("/admin/users/:id", s.handleUserUpdate)
	g.POST("/admin/users/:id/password", s.handleUserPassword)
}

type userCreateRequest struct {
	Username string     `json:"username"`
	Role     choso.Role `json:"role"`
	Scope    []string   `json:"scope"`
	Password string     `json:"password"` // empty: the server generates one
}

type userCreateResponse struct {
	User     *choso.User `json:"user"`
	Password string      `json:"password,omitempty"` // shown once, when generated
}

type userUpdateRequest struct {
	Role     *choso.Role `json:"role"`
	Scope    *[]string   `json:"scope"`
	Disabled *bool       `json:"disabled"`
}

type userPasswordRequest struct {
	Password string `json:"password"` // empty: the server generates one
}

// apiUser makes a user's JSON as documented: an admin's empty scope is
// [], not null.
func apiUser(u *choso.User) *choso.User {
	if u != nil && u.Scope == nil {
		u.Scope = []string{}
	}
	return u
}

func (s *Server) handleUserList(c echo.Context) error {
	users, err := s.registry.ListUsers(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	if users == nil {
		users = []*choso.User{}
	}
	for _, u := range users {
		apiUser(u)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": users})
}

func (s *Server) handleUserCreate(c echo.Context) error {
	var req userCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u, password, err := s.registry.CreateUser(c.Request().Context(), principal(c), choso.NewUser{
		Username: req.Username, Role: req.Role, Scope: req.Scope, Password: req.Password,
	})
	if err != nil {
		return err
	}
	res := userCreateResponse{User: apiUser(u)}
	if req.Password == "" {
		res.Password = password
	}
	return c.JSON(http.StatusCreated, res)
}

func (s *Server) handleUserView(c echo.Context) error {
	u, err := s.registry.FindUser(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiUser(u))
}

func (s *Server) handleUserUpdate(c echo.Context) error {
	var req userUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u, err := s.registry.UpdateUser(c.Request().Context(), principal(c), c.Param("id"), choso.UserPatch(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiUser(u))
}

func (s *Server) handleUserPassword(c echo.Context) error {
	var req userPasswordRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	p := principal(c)
	if !p.IsAdmin() {
		return choso.Errorf(choso.EForbidden, "only an admin may do this")
	}
	password, err := s.registry.SetPassword(c.Request().Context(), p, c.Param("id"), "", req.Password)
	if err != nil {
		return err
	}
	res := map[string]string{}
	if req.Password == "" {
		res["password"] = password
	}
	return c.JSON(http.StatusOK, res)
}
