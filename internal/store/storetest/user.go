package storetest

import (
	"testing"

	"github.com/choso/choso"
)

var userTests = []testCase{
	{"User_Create_FindByIDAndUsernameReturnEveryField", testUserCreateFind},
	{"User_Create_UsernameTakenConflict", testUserCreateUsernameTaken},
	{"User_Create_IDExistsConflict", testUserCreateIDExists},
	{"User_Update_ReplacesFieldsAndMovesUsername", testUserUpdate},
	{"User_Update_MissingNotFound", testUserUpdateMissing},
	{"User_Update_UsernameTakenConflictAndNothingChanges", testUserUpdateUsernameTaken},
	{"User_Find_MissingNotFound", testUserFindMissing},
	{"User_Find_ReturnsACopyTheCallerOwns", testUserFindCopy},
	{"User_List_InUsernameOrder", testUserList},
	{"User_Count_CountsEveryUser", testUserCount},
}

func newUser(id, username string, role choso.Role, scope ...string) *choso.User {
	return &choso.User{
		ID: id, Username: username, Role: role, Scope: scope,
		PasswordHash:      "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		PasswordChangedAt: at(6, 0), CreatedAt: at(6, 0), UpdatedAt: at(6, 5),
	}
}

var (
	admin   = newUser("usr_admin", "admin", choso.RoleAdmin)
	lan     = newUser("usr_lan", "lan.nguyen", choso.RoleVolunteer, "07210", "09187")
	minh    = newUser("usr_minh", "minh_tran", choso.RoleOfficial, "24")
	userAll = []*choso.User{minh, lan, admin}
)

func seedUsers(t *testing.T, s choso.Store) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, u := range userAll {
			c := *u
			if err := tx.CreateUser(&c); err != nil {
				return err
			}
		}
		return nil
	})
}

func testUserCreateFind(t *testing.T, h Harness) {
	s := open(t, h)
	seedUsers(t, s)
	for _, want := range userAll {
		view(t, s, func(tx choso.Tx) error {
			got, err := tx.FindUserByID(want.ID)
			if err != nil {
				t.Fatalf("FindUserByID(%s): %v", want.ID, err)
			}
			// PasswordHash and PasswordChangedAt stay out of the API's JSON;
			// the store must keep them anyway.
			wantEqual(t, "FindUserByID("+want.ID+")", got, want)
			got, err = tx.FindUserByUsername(want.Username)
			if err != nil {
				t.Fatalf("FindUserByUsername(%s): %v", want.Username, err)
			}
			wantEqual(t, "FindUserByUsername("+want.Username+")", got, want)
			return nil
		})
	}
}

func testUserCreateUsernameTaken(t *testing.T, h Harness) {
	s := open(t, h)
	seedUsers(t, s)
	err := s.Update(t.Context(), func(tx choso.Tx) error {
		return tx.CreateUser(newUser("usr_other", lan.Username, choso.RoleVolunteer, "00004"))
	})
	wantCode(t, "CreateUser(taken username)", err, choso.EConflict)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindUserByUsername(lan.Username)
		if err != nil {
			t.Fatalf("FindUserByUsername: %v", err)
		}
		wantEqual(t, "user after the refused create", got, lan)
		_, err = tx.FindUserByID("usr_other")
		wantCode(t, "FindUserByID(usr_other)", err, choso.ENotFound)
		return nil
	})
}

func testUserCreateIDExists(t *testing.T, h Harness) {
	s := open(t, h)
	seedUsers(t, s)
	err := s.Update(t.Context(), func(tx choso.Tx) error {
		return tx.CreateUser(newUser(lan.ID, "lan.khac", choso.RoleVolunteer, "00004"))
	})
	wantCode(t, "CreateUser(existing ID)", err, choso.EConflict)
	view(t, s, func(tx choso.Tx) error {
		_, err := tx.FindUserByUsername("lan.khac")
		wantCode(t, "FindUserByUsername(lan.khac)", err, choso.ENotFound)
		return nil
	})
}

func testUserUpdate(t *testing.T, h Harness) {
	s := open(t, h)
	seedUsers(t, s)
	changed := *lan
	changed.Username = "lan.nguyenthi"
	changed.Scope = []string{"00070"}
	changed.Disabled = true
	changed.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=2$bmV3c2FsdA$bmV3aGFzaA"
	changed.PasswordChangedAt = at(10, 0)
	changed.UpdatedAt = at(10, 0)
	update(t, s, func(tx choso.Tx) error { return tx.UpdateUser(&changed) })
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindUserByID(lan.ID)
		if err != nil {
			t.Fatalf("FindUserByID: %v", err)
		}
		wantEqual(t, "FindUserByID after update", got, &changed)
		got, err = tx.FindUserByUsername(changed.Username)
		if err != nil {
			t.Fatalf("FindUserByUsername(new name): %v", err)
		}
		wantEqual(t, "FindUserByUsername(new name)", got, &changed)
		_, err = tx.FindUserByUsername(lan.Username)
		wantCode(t, "FindUserByUsername(old name)", err, choso.ENotFound)
		return nil
	})
	// The old name is free again.
	update(t, s, func(tx choso.Tx) error {
		return tx.CreateUser(newUser("usr_lan2", lan.Username, choso.RoleVolunteer, "07210"))
	})
}

func testUserUpdateMissing(t *testing.T, h Harness) {
	s := open(t, h)
	seedUsers(t, s)
	err := s.Update(t.Context(), func(tx choso.Tx) error {
		return tx.UpdateUser(newUser("usr_ghost", "ghost", choso.RoleAdmin))
	})
	wantCode(t, "UpdateUser(missing)", err, choso.ENotFound)
	view(t, s, func(tx choso.Tx) error {
		_, err := tx.FindUserByUsername("ghost")
		wantCode(t, "FindUserByUsername(ghost)", err, choso.ENotFound)
		return nil
	})
}

func testUserUpdateUsernameTaken(t *testing.T, h Harness) {
	s := open(t, h)
	seedUsers(t, s)
	changed := *lan
	changed.Username = minh.Username
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.UpdateUser(&changed) })
	wantCode(t, "UpdateUser(to a taken username)", err, choso.EConflict)
	view(t, s, func(tx choso.Tx) error {
		for _, want := range []*choso.User{lan, minh} {
			got, err := tx.FindUserByUsername(want.Username)
			if err != nil {
				t.Fatalf("FindUserByUsername(%s): %v", want.Username, err)
			}
			wantEqual(t, "FindUserByUsername("+want.Username+")", got, want)
		}
		return nil
	})
}

func testUserFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	seedUsers(t, s)
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{"", "usr_ghost", "lan.nguyen"} {
			_, err := tx.FindUserByID(id)
			wantCode(t, "FindUserByID("+id+")", err, choso.ENotFound)
		}
		for _, name := range []string{"", "ghost", "usr_lan", "lan"} {
			_, err := tx.FindUserByUsername(name)
			wantCode(t, "FindUserByUsername("+name+")", err, choso.ENotFound)
		}
		return nil
	})
}

func testUserFindCopy(t *testing.T, h Harness) {
	s := open(t, h)
	seedUsers(t, s)
	view(t, s, func(tx choso.Tx) error {
		u, err := tx.FindUserByID(lan.ID)
		if err != nil {
			t.Fatalf("FindUserByID: %v", err)
		}
		u.Username = "changed"
		u.Scope[0] = "99999"
		again, err := tx.FindUserByID(lan.ID)
		if err != nil {
			t.Fatalf("FindUserByID again: %v", err)
		}
		wantEqual(t, "user read after changing an earlier copy", again, lan)
		return nil
	})
}

func testUserList(t *testing.T, h Harness) {
	s := open(t, h)
	view(t, s, func(tx choso.Tx) error {
		if got, err := tx.ListUsers(); err != nil || len(got) != 0 {
			t.Fatalf("ListUsers on an empty store = %d users, %v; want 0, nil", len(got), err)
		}
		return nil
	})
	seedUsers(t, s) // created out of username order
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.ListUsers()
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		wantEqual(t, "ListUsers", got, []*choso.User{admin, lan, minh})
		return nil
	})
}

func testUserCount(t *testing.T, h Harness) {
	s := open(t, h)
	view(t, s, func(tx choso.Tx) error {
		if n, err := tx.CountUsers(); err != nil || n != 0 {
			t.Fatalf("CountUsers on an empty store = %d, %v; want 0, nil", n, err)
		}
		return nil
	})
	seedUsers(t, s)
	view(t, s, func(tx choso.Tx) error {
		if n, err := tx.CountUsers(); err != nil || n != len(userAll) {
			t.Fatalf("CountUsers = %d, %v; want %d, nil", n, err, len(userAll))
		}
		return nil
	})
}
